import { useEffect, useMemo, useState } from 'react';
import { download, list } from '../api/client.js';
import type { ApiKey, Tenant, UsageRow } from '../api/types.js';
import { BarChart } from '../charts/bar-chart.js';
import { usageBars, type UsageDimension, type UsageMetric } from '../charts/shape.js';
import { useConsole, useLive, useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { MyLimits, UsageOverTime } from '../usage/over-time.js';

const day = (at: number): string => new Date(at).toISOString().slice(0, 10);
const dimensions: Array<{ id: UsageDimension; title: string }> = [
  { id: 'model', title: 'By model' },
  { id: 'key', title: 'By key' },
  { id: 'day', title: 'By day' },
  { id: 'device_class', title: 'By device class' },
];
const metrics: Array<{ id: UsageMetric; title: string; format: (value: number) => string }> = [
  { id: 'requests', title: 'Requests', format: (value) => value.toLocaleString() },
  { id: 'total_tokens', title: 'Tokens', format: (value) => value.toLocaleString() },
  { id: 'cost_usd', title: 'Cost (USD)', format: (value) => `$${value.toFixed(4)}` },
  { id: 'compute_seconds', title: 'Compute seconds', format: (value) => value.toFixed(2) },
];

/** The query of a range of whole UTC days, `end` included. */
function rangeQuery(start: string, end: string): string {
  const endExclusive = day(Date.parse(`${end}T00:00:00Z`) + 86_400_000);
  return `start=${start}&end=${endExclusive}`;
}

/** Usage: the ledger by model, key, day and device class over a range of UTC days; CSV export. */
export function UsagePage() {
  const [start, setStart] = useState(() => day(Date.now() - 6 * 86_400_000));
  const [end, setEnd] = useState(() => day(Date.now()));
  const [metric, setMetric] = useState<UsageMetric>('requests');
  const [exportError, setExportError] = useState<string | null>(null);
  const { me } = useConsole();
  const { requests } = useLive();
  // Admins see key names next to ids; other keys only ever see their own usage.
  const keys = useLoad(async () => (me.scopes.admin ? list<ApiKey>('/v1/keys') : []));
  // The operator may narrow every chart to one tenant; the chart then draws that tenant's budget.
  const [tenant, setTenant] = useState('');
  const tenants = useLoad(async () => (me.operator ? list<Tenant>('/v1/tenants') : []));
  const only = tenant === '' ? '' : `&tenant=${encodeURIComponent(tenant)}`;
  // New requests refresh the charts, at most once every two seconds.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const timer = setTimeout(() => setVersion(requests.length), 2000);
    return () => clearTimeout(timer);
  }, [requests.length]);
  const valid = start <= end;
  const usage = useLoad(async () => {
    if (!valid) throw new Error('The start day must not be after the end day.');
    return list<UsageRow>(`/v1/usage?${rangeQuery(start, end)}&group_by=model,key,day,device_class,status${only}`);
  }, `${start}/${end}/${tenant}/${version}`);
  const chosen = metrics.find((candidate) => candidate.id === metric)!;
  const charts = useMemo(
    () =>
      dimensions.map((dimension) => {
        const bars = usageBars(usage.data ?? [], dimension.id, metric, { start, end });
        if (dimension.id !== 'key') return { ...dimension, bars };
        const names = new Map((keys.data ?? []).map((key) => [key.id, `${key.name} (${key.prefix}…)`]));
        return { ...dimension, bars: bars.map((bar) => ({ ...bar, label: names.get(bar.label) ?? bar.label })) };
      }),
    [usage.data, keys.data, metric, start, end],
  );
  const total = (usage.data ?? []).reduce((sum, row) => sum + row[metric], 0);
  const exportCsv = (): void => {
    download(`/v1/usage?${rangeQuery(start, end)}&group_by=model,key,day,device_class&format=csv${only}`, `nimbus-usage-${start}-${end}.csv`).then(
      () => setExportError(null),
      (failure: Error) => setExportError(failure.message),
    );
  };
  return (
    <>
      <h1>Usage</h1>
      <section className="panel row" aria-label="Range and measure">
        <label>
          From
          <input type="date" value={start} max={end} onChange={(event) => setStart(event.target.value)} />
        </label>
        <label>
          To
          <input type="date" value={end} min={start} onChange={(event) => setEnd(event.target.value)} />
        </label>
        {me.operator && (
          <label>
            Tenant
            <select aria-label="Tenant" value={tenant} onChange={(event) => setTenant(event.target.value)}>
              <option value="">all tenants</option>
              {(tenants.data ?? []).map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.name === candidate.id ? candidate.id : `${candidate.name} (${candidate.id})`}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Measure
          <select aria-label="Measure" value={metric} onChange={(event) => setMetric(event.target.value as UsageMetric)}>
            {metrics.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.title}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={exportCsv}>
          Export CSV
        </button>
        <span className="muted">
          Total: <strong data-testid="usage-total">{chosen.format(total)}</strong> {chosen.title.toLowerCase()} · UTC days
        </span>
      </section>
      <ErrorNote error={usage.error ?? exportError} />
      <UsageOverTime start={Date.parse(`${start}T00:00:00Z`)} end={Date.parse(`${end}T00:00:00Z`) + 86_400_000} version={version} tenant={tenant} />
      <MyLimits version={version} />
      <div className="grid" data-testid="usage-charts">
        {charts.map((chart) => (
          <section className="panel" key={chart.id}>
            <BarChart title={`${chart.title}: ${chosen.title.toLowerCase()}`} bars={chart.bars} format={chosen.format} />
          </section>
        ))}
      </div>
    </>
  );
}
