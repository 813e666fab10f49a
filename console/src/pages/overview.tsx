import { useEffect, useMemo, useState } from 'react';
import { api, ApiError, list } from '../api/client.js';
import type { AnyPoolWorker, ModelInfo, PoolDeployment, PoolWorker, StaticPoolWorker } from '../api/types.js';
import { LineChart } from '../charts/line-chart.js';
import { hardwareShare, rateSeries } from '../charts/shape.js';
import { useConsole, useLive, useLoad } from '../live/console-context.js';
import { autoscaleSummary } from '../models/autoscale-summary.js';
import { ErrorNote } from '../ui/error-note.js';
import { Link } from '../ui/router.js';

/** Reads a pool list; `null` when this server has no pool (404) or this key may not see it (403). */
async function poolList<T>(path: string): Promise<T[] | null> {
  try {
    return (await api<{ data: T[] }>('GET', path)).data;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return null;
    throw error;
  }
}

function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);

/** A memory bar: used of total, with the figures in words beside it for screen readers. */
function MemoryBar({ label, used, total }: { label: string; used: number; total: number }) {
  return (
    <div>
      <div className="muted">
        {label} · {gib(used)} / {gib(total)} GiB
      </div>
      <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={total} aria-valuenow={used} aria-label={`${label} memory`}>
        <span style={{ width: `${total > 0 ? Math.min(100, (used / total) * 100) : 0}%` }} />
      </div>
    </div>
  );
}

/** An upstream engine: its models and their circuit breakers; it has no hardware the pool can see. */
function StaticWorkerCard({ worker }: { worker: StaticPoolWorker }) {
  return (
    <div className="card" data-testid="static-worker-card">
      <strong>{worker.name}</strong> <span className={`badge ${worker.state}`}>{worker.state}</span>
      <div className="muted">
        upstream engine · {worker.endpoint} · {worker.load.activeRequests} in flight
      </div>
      <ul>
        {worker.models.map((model) => (
          <li key={model.model}>
            {model.model}
            {model.upstreamModel !== model.model && <span className="muted"> (as {model.upstreamModel})</span>}
            {model.breaker !== 'closed' && <span className="badge unreachable"> breaker {model.breaker}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Workers({ workers: all }: { workers: AnyPoolWorker[] }) {
  const workers = all.filter((worker): worker is PoolWorker => worker.kind !== 'static');
  const upstreams = all.filter((worker): worker is StaticPoolWorker => worker.kind === 'static');
  return (
    <div className="grid">
      {workers.length === 0 && <p className="empty">No worker has joined. Run nimbus workers token here, then nimbus worker --join on each machine.</p>}
      {upstreams.map((worker) => (
        <StaticWorkerCard key={`static:${worker.name}`} worker={worker} />
      ))}
      {workers.map((worker) => (
        <div className="card" key={worker.name} data-testid="worker-card">
          <strong>{worker.name}</strong> <span className={`badge ${worker.state}`}>{worker.state}</span>
          <div className="muted">
            {worker.hardware.cpuModel} · {worker.hardware.cores} cores · {worker.load.activeSequences} active, {worker.load.queueDepth} queued ·{' '}
            {Math.round(worker.load.tokensPerSecond)} tok/s
          </div>
          <MemoryBar label="RAM" used={worker.hardware.ramTotalBytes - worker.hardware.ramFreeBytes} total={worker.hardware.ramTotalBytes} />
          {worker.hardware.gpus.map((gpu) => (
            <MemoryBar key={gpu.index} label={`GPU ${gpu.index} ${gpu.name} (${gpu.backend})`} used={gpu.totalBytes - gpu.freeBytes} total={gpu.totalBytes} />
          ))}
        </div>
      ))}
    </div>
  );
}

/** Performance API marks: the charts show data from the live feed; the model list is shown (bench/console.ts reads both). */
export const overviewLiveMark = 'nimbus:overview-live';
export const overviewModelsMark = 'nimbus:overview-models';

function markOnce(name: string): void {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

/** Overview: live charts from the feed, CPU/GPU share, models, and the pool where there is one. */
export function OverviewPage() {
  const { me } = useConsole();
  const { requests, status } = useLive();
  const now = useNow(1000);
  const series = useMemo(() => rateSeries(requests, now), [requests, now]);
  const share = useMemo(() => hardwareShare(requests), [requests]);
  const models = useLoad(() => list<ModelInfo>('/v1/models'));
  // Effects run after the commit, so a mark is set once what it names is on screen.
  const showsLiveData = status === 'live' && requests.length > 0;
  useEffect(() => {
    if (showsLiveData) markOnce(overviewLiveMark);
  }, [showsLiveData]);
  useEffect(() => {
    if (models.data) markOnce(overviewModelsMark);
  }, [models.data]);
  const pool = useLoad(async () => {
    const [workers, deployments] = await Promise.all([poolList<AnyPoolWorker>('/v1/pool/workers'), poolList<PoolDeployment>('/v1/deployments')]);
    return { workers, deployments };
  });
  return (
    <>
      <h1>Overview</h1>
      <p className="muted" aria-live="polite">
        Live feed:{' '}
        {status === 'live' ? 'connected' : status === 'connecting' ? 'connecting…' : status === 'refused' ? 'refused: sign in again' : 'reconnecting…'} · last
        minute, in 2-second steps · <span data-testid="requests-seen">{requests.length}</span> requests in the last 5 minutes
      </p>
      <section className="panel grid" aria-label="Live charts" data-testid="live-charts">
        <LineChart title="Requests/s" unit="req/s" values={series.map((point) => point.requestsPerSecond)} />
        <LineChart title="Tokens/s" unit="tok/s" values={series.map((point) => point.tokensPerSecond)} />
        <LineChart title="Time to first token" unit="ms" digits={0} values={series.map((point) => point.ttftMs)} />
      </section>
      <section className="panel" aria-label="CPU and GPU share">
        <h2>CPU versus GPU (tokens, last 5 minutes)</h2>
        {share.cpu + share.gpu + share.upstream === 0 ? (
          <p className="empty">No requests yet.</p>
        ) : (
          <>
            <div className="meter" aria-hidden="true">
              <span style={{ width: `${(share.gpuFraction ?? 0) * 100}%` }} />
            </div>
            <p>
              GPU {share.gpu.toLocaleString()} · CPU {share.cpu.toLocaleString()} · upstreams {share.upstream.toLocaleString()} tokens
              {share.gpuFraction !== null && ` · ${Math.round(share.gpuFraction * 100)}% of local work on GPUs`}
            </p>
          </>
        )}
      </section>
      <section className="panel" aria-label="Models">
        <h2>Models</h2>
        <ErrorNote error={models.error} />
        {models.data && models.data.length === 0 && (
          <p className="empty">
            No model is loaded yet.{' '}
            {me.operator ? (
              <>
                Pull one on the <Link to="/models">Models page</Link>: the first model pulled is served at once.
              </>
            ) : (
              'The operator adds models.'
            )}
          </p>
        )}
        <table>
          <tbody>
            {(models.data ?? []).map((model) => (
              <tr key={model.id}>
                <th scope="row">{model.id}</th>
                <td>{model.nimbus?.engine ?? ''}</td>
                <td>{model.nimbus?.served_by?.join(', ') ?? ''}</td>
                <td className="num">{model.nimbus?.context_length ? `${model.nimbus.context_length} ctx` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="panel" aria-label="Pool">
        <h2>Workers and deployments</h2>
        <ErrorNote error={pool.error} />
        {pool.data && pool.data.workers === null && (
          <p className="empty">
            No pool to show: this server serves models in its own process (or this key may not see the pool). Workers and deployments appear here once the pool
            runs.
          </p>
        )}
        {pool.data?.workers && <Workers workers={pool.data.workers} />}
        {pool.data?.deployments && pool.data.deployments.length > 0 && (
          <table>
            <thead>
              <tr>
                <th>Deployment</th>
                <th>Model</th>
                <th>Routing</th>
                <th>Replicas</th>
              </tr>
            </thead>
            <tbody>
              {pool.data.deployments.map((deployment) => (
                <tr key={deployment.name}>
                  <td>{deployment.name}</td>
                  <td>{deployment.source}</td>
                  <td>{deployment.routing}</td>
                  <td>
                    {deployment.placed.map((replica) => (
                      <span key={replica.id} className={`badge ${replica.state}`} title={replica.error ?? undefined}>
                        {replica.worker} {replica.state}
                      </span>
                    ))}
                    {deployment.placed.length < deployment.replicas && (
                      <span className="muted">
                        {' '}
                        {deployment.replicas - deployment.placed.length} not placed{deployment.refusal ? `: ${deployment.refusal}` : ''}
                      </span>
                    )}
                    {deployment.autoscale && <div className="muted">{autoscaleSummary(deployment)}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
