/**
 * One joined worker on the Workers page: its state in words, its hardware, the replicas placed on
 * it, drain (and undo) or remove, and its CPU, RAM, GPU memory, GPU utilisation and tokens per
 * second over the chosen window, read from `GET /v1/pool/workers/{name}/metrics`.
 */
import { api, list } from '../api/client.js';
import type { PoolDeployment, PoolWorker } from '../api/types.js';
import { LineChart } from '../charts/line-chart.js';
import { useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';
import { useAction } from '../ui/use-action.js';
import { workerSeries, type WorkerSample } from './worker-series.js';

const gib = 1024 ** 3;

/** What a state means for the operator, in words. */
function stateLine(worker: PoolWorker): string {
  switch (worker.state) {
    case 'ready':
      return 'Ready: takes replicas.';
    case 'draining':
      return `Draining: takes no new replica; ${worker.replicas.length === 1 ? 'its replica moves' : `its ${worker.replicas.length} replicas move`} once a replacement serves elsewhere.`;
    case 'drained':
      return 'Drained: no replica left, safe to stop (it leaves the pool on SIGTERM), or undo the drain.';
    case 'unreachable':
      return `Unreachable: silent for ${Math.round(worker.silentMs / 1000)} s; its replicas are placed elsewhere. Remove it if the machine is gone.`;
    default:
      return worker.state;
  }
}

function Charts({ name, windowMs, version }: { name: string; windowMs: number; version: unknown }) {
  const samples = useLoad(
    async () => {
      const since = Math.floor((Date.now() - windowMs) / 1000);
      return { data: await list<WorkerSample>(`/v1/pool/workers/${encodeURIComponent(name)}/metrics?since=${since}`), now: Date.now() };
    },
    `${windowMs}/${String(version)}`,
  );
  if (samples.error) return <ErrorNote error={samples.error} />;
  if (!samples.data) return null;
  if (samples.data.data.length === 0) return <p className="empty">No heartbeat recorded here in this window.</p>;
  const series = workerSeries(samples.data.data, samples.data.now, windowMs);
  return (
    <div className="grid" data-testid="worker-charts">
      <LineChart title="CPU" values={series.cpuPercent} unit="%" digits={0} />
      <LineChart title="RAM in use" values={series.ramGiB} unit="GiB" digits={2} />
      {series.hasGpu && <LineChart title="GPU memory" values={series.gpuMemoryGiB} unit="GiB" digits={2} />}
      {series.hasGpu && <LineChart title="GPU utilisation" values={series.gpuPercent} unit="%" digits={0} />}
      <LineChart title="Tokens per second" values={series.tokensPerSecond} unit="tok/s" digits={1} />
    </div>
  );
}

/** A worker's card; `onChanged` reads the list again after an action. */
export function WorkerCard(props: { worker: PoolWorker; deployments: readonly PoolDeployment[]; windowMs: number; version: unknown; onChanged: () => void }) {
  const { worker, deployments, windowMs, version, onChanged } = props;
  const { error, run } = useAction();
  const path = `/v1/pool/workers/${encodeURIComponent(worker.name)}`;
  const drain = (draining: boolean): Promise<void> =>
    run(async () => {
      await api('POST', `${path}/drain`, { draining });
      onChanged();
    });
  const remove = (): Promise<void> =>
    run(async () => {
      await api('DELETE', path);
      onChanged();
    });
  const placed = deployments.flatMap((deployment) =>
    deployment.placed.filter((replica) => replica.worker === worker.name).map((replica) => ({ ...replica, deployment: deployment.name })),
  );
  const hardware = worker.hardware;
  return (
    <section className="panel" aria-label={`Worker ${worker.name}`} data-testid="worker" data-worker={worker.name}>
      <div className="row">
        <h2>{worker.name}</h2>
        <span className={`badge ${worker.state}`} data-testid="worker-state">
          {worker.state}
        </span>
        {worker.state === 'ready' && (
          <button type="button" onClick={() => void drain(true)}>
            Drain
          </button>
        )}
        {(worker.state === 'draining' || worker.state === 'drained') && (
          <button type="button" className="quiet" onClick={() => void drain(false)}>
            Undo drain
          </button>
        )}
        {worker.state === 'unreachable' && (
          <button type="button" onClick={() => void remove()}>
            Remove
          </button>
        )}
      </div>
      <p data-testid="worker-state-line">{stateLine(worker)}</p>
      <p className="muted">
        {worker.endpoint} · {hardware.cpuModel} · {hardware.cores} cores · RAM {((hardware.ramTotalBytes - hardware.ramFreeBytes) / gib).toFixed(1)} of{' '}
        {(hardware.ramTotalBytes / gib).toFixed(1)} GiB
        {hardware.gpus.map(
          (gpu) => ` · GPU ${gpu.index} ${gpu.name} ${((gpu.totalBytes - gpu.freeBytes) / gib).toFixed(1)} of ${(gpu.totalBytes / gib).toFixed(1)} GiB`,
        )}
      </p>
      <p data-testid="worker-replicas">
        {placed.length === 0 ? 'No replicas.' : `Replicas: ${placed.map((replica) => `${replica.deployment} ${replica.id} (${replica.state})`).join(', ')}`}
      </p>
      <ErrorNote error={error} />
      <Charts name={worker.name} windowMs={windowMs} version={version} />
    </section>
  );
}
