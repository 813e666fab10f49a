import { linePath, niceMax } from './shape.js';

interface LineChartProps {
  title: string;
  values: ReadonlyArray<number | null>;
  unit: string;
  /** Digits after the point in the current value. */
  digits?: number;
}

const width = 300;
const height = 80;

/** A small line chart of the last minute, with the current value in words for screen readers. */
export function LineChart({ title, values, unit, digits = 1 }: LineChartProps) {
  const max = niceMax(Math.max(0, ...values.filter((value): value is number => value !== null)));
  const current = [...values].reverse().find((value) => value !== null) ?? null;
  const label = current === null ? 'none yet' : `${current.toFixed(digits)} ${unit}`;
  return (
    <figure className="chart" aria-label={`${title}: ${label}`}>
      <figcaption>
        <span>{title}</span>
        <strong data-testid={`value-${title}`}>{label}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-hidden="true">
        <line x1="0" y1={height} x2={width} y2={height} className="axis" />
        <path d={linePath(values, width, height - 2, max)} className="line" />
        {/* A lone point has no line to draw: dots keep every measured bucket visible. */}
        {values.map((value, index) =>
          value === null ? null : (
            <circle
              key={index}
              cx={values.length > 1 ? (index * width) / (values.length - 1) : 0}
              cy={height - 2 - (Math.min(value, max) / max) * (height - 2)}
              r="2.5"
              className="dot"
            />
          ),
        )}
      </svg>
      <div className="chart-scale">
        top {max} {unit}
      </div>
    </figure>
  );
}
