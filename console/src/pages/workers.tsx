/**
 * Workers: each machine of the pool with its state, hardware, the replicas placed on it, and its
 * CPU, RAM, GPU memory, GPU utilisation and tokens per second over the last 15 minutes, hour or
 * day (the control plane keeps 24 h of heartbeats in memory; decision 0019, point 7); add a worker
 * (a join command shown once), drain one (no new replica there, its replicas moved, then drained:
 * safe to stop), undo a drain, remove one that went silent. The pool publishes no live events, so
 * the list is read again every few seconds while the page is open. The operator's page, as the pool API is.
 */
import { useEffect, useState } from 'react';
import { ApiError, list } from '../api/client.js';
import type { AnyPoolWorker, PoolDeployment, PoolWorker, StaticPoolWorker } from '../api/types.js';
import { useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { AddWorker } from '../workers/join-once.js';
import { WorkerCard } from '../workers/worker-card.js';

/** How often the list and the charts are read again: about one heartbeat sample (10 s buckets) at a time. */
const refreshMs = 5_000;
const windows = [
  { ms: 15 * 60_000, title: 'last 15 minutes' },
  { ms: 3_600_000, title: 'last hour' },
  { ms: 86_400_000, title: 'last 24 hours' },
];

/** The pool's workers and deployments; null where this server runs no pool (404). */
async function readPool(): Promise<{ workers: AnyPoolWorker[]; deployments: PoolDeployment[] } | null> {
  try {
    const [workers, deployments] = await Promise.all([list<AnyPoolWorker>('/v1/pool/workers'), list<PoolDeployment>('/v1/deployments')]);
    return { workers, deployments };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function WorkersPage() {
  const [version, setVersion] = useState(0);
  const [windowMs, setWindowMs] = useState(windows[0]!.ms);
  const pool = useLoad(readPool, version);
  useEffect(() => {
    const timer = setTimeout(() => setVersion((value) => value + 1), refreshMs);
    return () => clearTimeout(timer);
  }, [version]);
  const reload = (): void => setVersion((value) => value + 1);
  const joined = (pool.data?.workers ?? []).filter((worker): worker is PoolWorker => worker.kind !== 'static');
  const upstreams = (pool.data?.workers ?? []).filter((worker): worker is StaticPoolWorker => worker.kind === 'static');
  return (
    <>
      <h1>Workers</h1>
      <ErrorNote error={pool.error} />
      {pool.data === null && <p className="empty">This server runs no pool: it serves models in its own process.</p>}
      {pool.data && (
        <>
          <AddWorker />
          <section className="panel row" aria-label="Window">
            <label>
              Show
              <select aria-label="Window" value={windowMs} onChange={(event) => setWindowMs(Number(event.target.value))}>
                {windows.map((option) => (
                  <option key={option.ms} value={option.ms}>
                    {option.title}
                  </option>
                ))}
              </select>
            </label>
            <span className="muted">
              {joined.length} joined {joined.length === 1 ? 'worker' : 'workers'}; figures from the heartbeats this control plane received, per 10 s.
            </span>
          </section>
          {joined.length === 0 && <p className="empty">No worker has joined. Add one above.</p>}
          <div className="stack" data-testid="workers">
            {joined.map((worker) => (
              <WorkerCard key={worker.name} worker={worker} deployments={pool.data!.deployments} windowMs={windowMs} version={version} onChanged={reload} />
            ))}
          </div>
          {upstreams.length > 0 && (
            <section className="panel" aria-label="Upstream engines">
              <h2>Upstream engines</h2>
              <p className="muted">From the configuration: they serve their own models, take no placements and cannot be drained.</p>
              <ul>
                {upstreams.map((upstream) => (
                  <li key={upstream.name}>
                    {upstream.name} <span className={`badge ${upstream.state}`}>{upstream.state}</span> {upstream.endpoint}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </>
  );
}
