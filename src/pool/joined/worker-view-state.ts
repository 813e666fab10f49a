/**
 * A joined worker's state as the admin API and the console show it. `drained` is a drain that is
 * done: no replica is placed there any more (each moved once its replacement served elsewhere), so
 * stopping the worker (SIGTERM leaves the pool) loses no request and no capacity. Placement only
 * knows `draining` (worker-snapshots.ts): a drained worker still takes nothing new.
 */
import type { WorkerState } from '../../cluster/index.js';
import type { WorkerView } from '../../core/pool-control.js';

/** From the heartbeat verdict (undefined: never heard from), the drain flag and the replicas still placed there. */
export function workerViewState(alive: WorkerState | undefined, draining: boolean, replicas: number): WorkerView['state'] {
  if (alive === undefined || alive === 'unreachable') return 'unreachable';
  if (!draining) return 'ready';
  return replicas === 0 ? 'drained' : 'draining';
}
