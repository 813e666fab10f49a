/** How the pool's commands print deployments and workers. */
import { renderTable } from './render-table.js';

/** A deployment as `/v1/deployments` returns it. */
export interface DeploymentView {
  name: string;
  source: string;
  replicas: number;
  device: string;
  contextSize: number;
  slots: number;
  /** Absent from a control plane older than spare slots. */
  spareSlots?: number;
  routing: string;
  autoscale?: { minReplicas: number; maxReplicas: number; targetQueuePerReplica: number } | null;
  placed: Array<{ id: string; worker: string; state: string }>;
  refusal?: string;
  lastScale?: { at: number; from: number; to: number; reason: string };
  held?: number;
}

/** A joined worker as `/v1/pool/workers` returns it. */
export interface JoinedWorkerView {
  kind: 'joined';
  name: string;
  endpoint: string;
  state: string;
  silentMs: number;
  hardware: { cpuModel: string; cores: number; ramTotalBytes: number; gpus: Array<{ name: string; totalBytes: number }> };
  load: { activeSequences: number; queueDepth: number; tokensPerSecond: number };
  replicas: string[];
}

/** An upstream engine from the configuration, listed with the workers. */
export interface StaticWorkerView {
  kind: 'static';
  name: string;
  endpoint: string;
  state: string;
  models: Array<{ model: string; breaker: string }>;
  load: { activeRequests: number };
}

export type WorkerView = JoinedWorkerView | StaticWorkerView;

const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** `12 s ago`, `5 min ago`: when a change happened, from the machine running the command. */
function ago(at: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

export function renderDeployments(deployments: readonly DeploymentView[]): string {
  if (deployments.length === 0) return "No deployments. Add one with 'nimbus deploy MODEL --replicas N'.";
  const table = renderTable([
    ['NAME', 'READY', 'PLACED', 'WANTED', 'AUTOSCALE', 'DEVICE', 'CTX', 'SLOTS', 'ROUTING', 'WORKERS'],
    ...deployments.map((deployment) => [
      deployment.name,
      String(deployment.placed.filter((replica) => replica.state === 'ready').length),
      String(deployment.placed.length),
      String(deployment.replicas),
      deployment.autoscale ? `${deployment.autoscale.minReplicas}-${deployment.autoscale.maxReplicas}` : '-',
      deployment.device,
      String(deployment.contextSize),
      deployment.spareSlots ? `${deployment.slots}+${deployment.spareSlots}` : String(deployment.slots),
      deployment.routing,
      deployment.placed.map((replica) => `${replica.worker}(${replica.state})`).join(' ') || '-',
    ]),
  ]);
  const refusals = deployments.filter((deployment) => deployment.refusal).map((deployment) => `${deployment.name}: ${deployment.refusal}`);
  const scaling = deployments.flatMap((deployment) => [
    ...(deployment.held ? [`${deployment.name}: ${deployment.held} request(s) waiting for a replica`] : []),
    ...(deployment.lastScale
      ? [
          `${deployment.name}: scaled ${deployment.lastScale.from} -> ${deployment.lastScale.to} ${ago(deployment.lastScale.at)}: ${deployment.lastScale.reason}`,
        ]
      : []),
  ]);
  return [table, ...refusals, ...scaling].join('\n');
}

export function renderWorkers(workers: readonly WorkerView[]): string {
  if (workers.length === 0) return "No workers. Create a token with 'nimbus workers token', then run 'nimbus worker --join URL --token TOKEN' on each machine.";
  return renderTable([
    ['NAME', 'KIND', 'STATE', 'ENDPOINT', 'CPU', 'RAM', 'GPUS', 'ACTIVE', 'QUEUED', 'TOK/S', 'REPLICAS'],
    ...workers.map((worker) =>
      worker.kind === 'static'
        ? [
            worker.name,
            'upstream',
            worker.state,
            worker.endpoint,
            '-',
            '-',
            '-',
            String(worker.load.activeRequests),
            '-',
            '-',
            worker.models.map((model) => (model.breaker === 'closed' ? model.model : `${model.model}(breaker ${model.breaker})`)).join(' '),
          ]
        : [
            worker.name,
            'joined',
            worker.state,
            worker.endpoint,
            `${worker.hardware.cores}x ${worker.hardware.cpuModel}`,
            gib(worker.hardware.ramTotalBytes),
            worker.hardware.gpus.map((gpu) => `${gpu.name} ${gib(gpu.totalBytes)}`).join(', ') || 'none',
            String(worker.load.activeSequences),
            String(worker.load.queueDepth),
            String(worker.load.tokensPerSecond),
            worker.replicas.join(' ') || '-',
          ],
    ),
  ]);
}
