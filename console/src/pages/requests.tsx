/**
 * The request log: every billed call (the ledger), newest first, filtered by tenant, key, model,
 * status, app and time, searched by request id or key prefix; older pages by cursor; a request's
 * detail beside the list; a live tail that reloads the first page as matching requests finish.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { RequestPage, RequestRow } from '../api/types.js';
import { useConsole } from '../live/console-context.js';
import { mayMatch, noFilters, requestQuery, type RequestFilters } from '../requests/request-query.js';
import { ErrorNote } from '../ui/error-note.js';

const pageSize = 50;
const statuses = ['ok', 'error', 'refused', 'cancelled'];
const time = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
const usd = (value: number): string => `$${value.toFixed(6)}`;
const ms = (value: number | null): string => (value === null ? '–' : `${Math.round(value)} ms`);

/** The rows loaded so far and the cursor of the next page. */
interface Loaded {
  rows: RequestRow[];
  next: string | null;
}

function Detail({ id, onClose }: { id: string; onClose: () => void }) {
  const [row, setRow] = useState<RequestRow | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setRow(null);
    api<RequestRow>('GET', `/v1/requests/${encodeURIComponent(id)}`).then(setRow, (failure: Error) => setError(failure.message));
  }, [id]);
  const fields: Array<[string, string]> = row
    ? [
        ['Time (UTC)', time(row.created_at_ms)],
        ['Tenant', row.tenant],
        ['Key', row.key_id ?? '–'],
        ['App', row.app_id ? `${row.app_id}${row.app_version ? ` v${row.app_version}` : ''}` : '–'],
        ['Kind', row.kind],
        ['Model', row.requested_model && row.requested_model !== row.model ? `${row.model} (asked for ${row.requested_model})` : row.model],
        ['Served by', row.served_by ?? '–'],
        ['Route', row.route ?? '–'],
        ['Status', `${row.status} (HTTP ${row.http_status}${row.error_code ? `, ${row.error_code}` : ''})`],
        ['Tokens', `${row.prompt_tokens} in (${row.cached_tokens} cached) + ${row.completion_tokens} out`],
        ['Cost', usd(row.cost_usd)],
        ['Time to first token', ms(row.ttft_ms)],
        ['Duration', ms(row.duration_ms)],
        ['Compute', `${row.compute_seconds.toFixed(3)} s${row.device_class ? ` on ${row.device_class}` : ''}`],
        ['Part of', row.parent_id ?? row.batch_id ?? '–'],
      ]
    : [];
  return (
    <section className="panel" aria-label="Request detail" data-testid="request-detail">
      <h2>
        Request <code>{id}</code>
      </h2>
      <ErrorNote error={error} />
      {row && (
        <table>
          <tbody>
            {fields.map(([name, value]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" className="quiet" onClick={onClose}>
        Close
      </button>
    </section>
  );
}

/** The request log page. */
export function RequestsPage() {
  const { me, live } = useConsole();
  const [draft, setDraft] = useState<RequestFilters>(noFilters);
  const [filters, setFilters] = useState<RequestFilters>(noFilters);
  const [loaded, setLoaded] = useState<Loaded>({ rows: [], next: null });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [tail, setTail] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);

  const load = useCallback(async (search: RequestFilters, after?: string): Promise<void> => {
    setBusy(true);
    try {
      const page = await api<RequestPage>('GET', `/v1/requests?${requestQuery(search, pageSize, after)}`);
      setLoaded((before) => ({ rows: after ? [...before.rows, ...page.data] : page.data, next: page.next_cursor }));
      setError(null);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  }, []);
  useEffect(() => {
    void load(filters);
  }, [load, filters, reloads]);

  // The live tail: once a second, the first page again if a request that may match finished since.
  const shown = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!tail) return;
    shown.current = live.get().requests.at(-1)?.id;
    const timer = setInterval(() => {
      const newest = live.get().requests.at(-1);
      if (!newest || newest.id === shown.current) return;
      shown.current = newest.id;
      if (mayMatch(newest, filters)) setReloads((count) => count + 1);
    }, 1000);
    return () => clearInterval(timer);
  }, [tail, live, filters]);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setFilters(draft);
  };
  const field = (name: keyof RequestFilters, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} value={draft[name]} onChange={(event) => setDraft({ ...draft, [name]: event.target.value })} />
    </label>
  );
  return (
    <>
      <h1>Request log</h1>
      <form className="panel row" aria-label="Filters" onSubmit={submit}>
        {me.operator && field('tenant', 'Tenant')}
        {me.scopes.admin && field('key', 'Key id')}
        {field('model', 'Model')}
        <label>
          Status
          <select value={draft.status} onChange={(event) => setDraft({ ...draft, status: event.target.value })}>
            <option value="">any</option>
            {statuses.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        {field('app', 'App')}
        {field('from', 'From (UTC)', 'datetime-local')}
        {field('to', 'To (UTC)', 'datetime-local')}
        {field('search', 'Request id or key prefix')}
        <button type="submit">Apply</button>
        <button type="button" className="quiet" onClick={() => (setDraft(noFilters), setFilters(noFilters))}>
          Clear
        </button>
        <label className="check">
          <input type="checkbox" checked={tail} onChange={(event) => setTail(event.target.checked)} /> Live tail
        </label>
      </form>
      <ErrorNote error={error} />
      {selected && <Detail id={selected} onClose={() => setSelected(null)} />}
      <section className="panel table-scroll" aria-label="Requests">
        {loaded.rows.length === 0 ? (
          <p className="empty">{busy ? 'Loading…' : 'No requests match.'}</p>
        ) : (
          <table data-testid="request-rows">
            <thead>
              <tr>
                <th>Time (UTC)</th>
                <th>Request</th>
                {me.operator && <th>Tenant</th>}
                <th>Key</th>
                <th>App</th>
                <th>Model</th>
                <th>Served by</th>
                <th>Status</th>
                <th className="num">Tokens</th>
                <th className="num">Cost</th>
                <th className="num">TTFT</th>
                <th className="num">Duration</th>
              </tr>
            </thead>
            <tbody>
              {loaded.rows.map((row) => (
                <tr key={row.id} aria-selected={row.id === selected}>
                  <td className="num">{time(row.created_at_ms)}</td>
                  <td>
                    <button type="button" className="link" onClick={() => setSelected(row.id)}>
                      {row.id}
                    </button>
                  </td>
                  {me.operator && <td>{row.tenant}</td>}
                  <td>{row.key_id ?? '–'}</td>
                  <td>{row.app_id ?? '–'}</td>
                  <td>{row.model}</td>
                  <td>{row.served_by ?? '–'}</td>
                  <td>
                    <span className={`badge ${row.status === 'ok' ? 'done' : 'failed'}`}>{row.status}</span>
                  </td>
                  <td className="num">{row.total_tokens}</td>
                  <td className="num">{usd(row.cost_usd)}</td>
                  <td className="num">{ms(row.ttft_ms)}</td>
                  <td className="num">{ms(row.duration_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {loaded.next && (
          <button type="button" disabled={busy} onClick={() => void load(filters, loaded.next ?? undefined)}>
            Load older requests
          </button>
        )}
      </section>
    </>
  );
}
