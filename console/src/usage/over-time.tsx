/**
 * Cost and tokens over time, per hour or per day, split by model, key or tenant, with the day's
 * budget drawn (the tightest of the caller's key and tenant, from `/v1/me/limits`, or the chosen
 * tenant's own when the operator looks at one); and the caller's limits with what is left and
 * when each resets.
 * For one app (the Apps page): that app's calls only, split by version, with the app's own day
 * budget.
 */
import { useState } from 'react';
import { api, list } from '../api/client.js';
import type { LimitStanding, UsageRow } from '../api/types.js';
import { niceMax } from '../charts/shape.js';
import { useConsole, useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { bucketLabels, dayBudget, timeChart, type Granularity, type SplitBy, type TimeMetric } from './time-series.js';

const width = 640;
const height = 180;
const colours = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#0891b2', '#64748b'];
const format = (metric: TimeMetric, value: number): string => (metric === 'cost_usd' ? `$${value.toFixed(6)}` : Math.round(value).toLocaleString());

function points(values: readonly number[], max: number): string {
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values.map((value, index) => `${(index * step).toFixed(1)},${(height - (Math.min(value, max) / max) * (height - 4)).toFixed(1)}`).join(' ');
}

/**
 * Whose day budget the chart draws: the chosen tenant's own (`GET /v1/tenants/{id}/limits`, read as
 * its admission reads it) when the operator looks at one tenant; the caller's key and tenant
 * otherwise; none when the operator looks at every tenant at once (no one budget caps that sum).
 */
function readBudgets(operator: boolean, tenant: string): Promise<LimitStanding[]> {
  if (tenant !== '') return api<{ data: LimitStanding[] }>('GET', `/v1/tenants/${encodeURIComponent(tenant)}/limits`).then((answer) => answer.data);
  if (operator) return Promise.resolve([]);
  return api<{ data: LimitStanding[] }>('GET', '/v1/me/limits').then((answer) => answer.data);
}

/** An app whose calls the chart shows: its name and its own limits (its day budget is drawn). */
export interface AppFilter {
  name: string;
  limits?: Record<string, number> | undefined;
}

/** The chart over [start, end) (unix ms); `tenant` narrows it to one tenant ('' for all the caller may see), `app` to one app's calls. */
export function UsageOverTime({
  start,
  end,
  version,
  tenant = '',
  app,
}: {
  start: number;
  end: number;
  version: unknown;
  tenant?: string;
  app?: AppFilter | undefined;
}) {
  const { me } = useConsole();
  const [granularity, setGranularity] = useState<Granularity>('hour');
  const [split, setSplit] = useState<SplitBy>(app ? 'app_version' : 'model');
  const only = `${tenant === '' ? '' : `&tenant=${encodeURIComponent(tenant)}`}${app ? `&app=${encodeURIComponent(app.name)}` : ''}`;
  const [metric, setMetric] = useState<TimeMetric>('cost_usd');
  const groups = `${granularity}${split === 'none' ? '' : `,${split}`}`;
  const usage = useLoad(
    async () => {
      // Up to the current hour (not the rest of today), and hours over at most three days: more is too many points to read.
      const until = Math.min(end, Math.ceil((Date.now() + 1) / 3_600_000) * 3_600_000);
      const from = granularity === 'hour' ? Math.max(start, until - 3 * 86_400_000) : start;
      const rows = await list<UsageRow>(`/v1/usage?start=${Math.floor(from / 1000)}&end=${Math.floor(until / 1000)}&group_by=${groups}${only}`);
      return { rows, buckets: bucketLabels(granularity, from, until) };
    },
    `${start}/${end}/${groups}/${only}/${String(version)}`,
  );
  // An app's chart draws the app's budget; otherwise the chosen tenant's or the caller's own.
  const limits = useLoad(() => (app ? Promise.resolve([]) : readBudgets(me.operator, tenant)), `${tenant}/${String(version)}`);
  const budget = app ? (app.limits?.[metric === 'cost_usd' ? 'cost_per_day_usd' : 'tokens_per_day'] ?? null) : dayBudget(limits.data ?? [], metric);
  const buckets = usage.data?.buckets ?? [];
  const chart = timeChart(usage.data?.rows ?? [], granularity, split, metric, buckets, budget);
  const max = niceMax(Math.max(0, chart.budget ?? 0, ...chart.total, ...chart.series.flatMap((series) => series.values)));
  const title = `${metric === 'cost_usd' ? 'Cost' : 'Tokens'} per ${granularity}${split === 'none' ? '' : ` by ${split === 'app_version' ? 'version' : split}`}`;
  return (
    <section className="panel" aria-label="Usage over time" data-testid="usage-over-time">
      <div className="row">
        <h2>{title}</h2>
        <select aria-label="Per" value={granularity} onChange={(event) => setGranularity(event.target.value as Granularity)}>
          <option value="hour">per hour</option>
          <option value="day">per day</option>
        </select>
        <select aria-label="Split by" value={split} onChange={(event) => setSplit(event.target.value as SplitBy)}>
          <option value="none">all together</option>
          {app && <option value="app_version">by version</option>}
          <option value="model">by model</option>
          {me.scopes.admin && <option value="key">by key</option>}
          {me.operator && <option value="tenant">by tenant</option>}
        </select>
        <select aria-label="Chart measure" value={metric} onChange={(event) => setMetric(event.target.value as TimeMetric)}>
          <option value="cost_usd">cost</option>
          <option value="total_tokens">tokens</option>
        </select>
      </div>
      <ErrorNote error={usage.error ?? limits.error} />
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${title}, top ${format(metric, max)}`} className="over-time">
        <line x1="0" y1={height} x2={width} y2={height} className="axis" />
        {chart.series.map((series, index) => (
          <polyline key={series.label} points={points(series.values, max)} fill="none" stroke={colours[index % colours.length]} strokeWidth="2" />
        ))}
        {chart.budget !== null && (
          <>
            <polyline points={points(chart.total, max)} fill="none" stroke="#111827" strokeWidth="1.5" strokeDasharray="2 3" />
            <line
              x1="0"
              x2={width}
              y1={height - (chart.budget / max) * (height - 4)}
              y2={height - (chart.budget / max) * (height - 4)}
              stroke="#dc2626"
              strokeWidth="2"
              strokeDasharray="8 4"
              data-testid="budget-line"
            />
          </>
        )}
      </svg>
      <p className="muted">
        {buckets[0]} to {buckets.at(-1)} (UTC), top {format(metric, max)}.{' '}
        {chart.series.map((series, index) => (
          <span key={series.label}>
            <span className="swatch" aria-hidden="true" style={{ background: colours[index % colours.length] }} /> {series.label}{' '}
            {format(
              metric,
              series.values.reduce((total, value) => total + value, 0),
            )}{' '}
          </span>
        ))}
        {chart.budget === null ? (
          app ? (
            'No day budget on this app.'
          ) : tenant !== '' ? (
            `No day budget on tenant ${tenant}.`
          ) : me.operator ? (
            'Choose a tenant to draw its day budget.'
          ) : (
            'No day budget on this key or its tenant.'
          )
        ) : (
          <span data-testid="budget-legend">
            <span className="budget">
              dashed red: day budget{tenant === '' ? '' : ` of tenant ${tenant}`} {format(metric, chart.budget)}
            </span>
            , dotted: {granularity === 'hour' ? 'spent so far that UTC day' : 'each day'}s total
          </span>
        )}
      </p>
    </section>
  );
}

/** The caller's limits (`GET /v1/me/limits`): used, left, when each resets. */
export function MyLimits({ version }: { version: unknown }) {
  const limits = useLoad(() => api<{ data: LimitStanding[] }>('GET', '/v1/me/limits').then((answer) => answer.data), version);
  const amount = (standing: LimitStanding, value: number): string => (standing.unit === 'usd' ? `$${value.toFixed(6)}` : value.toLocaleString());
  return (
    <section className="panel" aria-label="Your limits" data-testid="my-limits">
      <h2>Your limits</h2>
      <ErrorNote error={limits.error} />
      {limits.data && limits.data.length === 0 && <p className="empty">No limits on this key or its tenant.</p>}
      {limits.data && limits.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Limit</th>
              <th>Of</th>
              <th className="num">Limit</th>
              <th className="num">Used</th>
              <th className="num">Left</th>
              <th>Resets (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {limits.data.map((standing) => (
              <tr key={`${standing.scope}:${standing.name}`}>
                <th scope="row">{standing.name.replaceAll('_', ' ')}</th>
                <td>
                  {standing.scope} {standing.owner}
                </td>
                <td className="num">{amount(standing, standing.limit)}</td>
                <td className="num">{amount(standing, standing.used)}</td>
                <td className="num">{amount(standing, standing.remaining)}</td>
                <td>{standing.resets_at === null ? 'as requests finish' : new Date(standing.resets_at * 1000).toISOString().replace('T', ' ').slice(0, 16)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
