import type { Bar } from './shape.js';
import { niceMax } from './shape.js';

interface BarChartProps {
  title: string;
  bars: readonly Bar[];
  format?: (value: number) => string;
}

/** Horizontal bars with their values written out: readable without colour, by keyboard and by screen reader. */
export function BarChart({ title, bars, format = (value) => value.toLocaleString() }: BarChartProps) {
  const max = niceMax(Math.max(0, ...bars.map((bar) => bar.value)));
  return (
    <figure className="bars" aria-label={title}>
      <figcaption>{title}</figcaption>
      {bars.length === 0 ? (
        <p className="empty">No usage in this range.</p>
      ) : (
        <table>
          <tbody>
            {bars.map((bar) => (
              <tr key={bar.label}>
                <th scope="row" title={bar.label}>
                  {bar.label}
                </th>
                <td className="bar-cell">
                  <span className="bar" style={{ width: `${(bar.value / max) * 100}%` }} />
                </td>
                <td className="num">{format(bar.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
