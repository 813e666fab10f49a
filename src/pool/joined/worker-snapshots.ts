/**
 * The pool as placement sees it, from what the store and the heartbeats say: each worker's
 * state, and its free memory less what replicas assigned to it (not yet loaded, so not yet in
 * its report) will take.
 */
import type { MemoryEstimate, WorkerSnapshot, WorkerState } from '../../cluster/index.js';
import type { PoolReplicaRecord, WorkerRecord } from '../../core/pool-store.js';

/** Snapshots for `placeDeployment`; `stateOf` is the heartbeat verdict (undefined: never heard from). */
export function workerSnapshots(
  workers: readonly WorkerRecord[],
  replicas: readonly PoolReplicaRecord[],
  stateOf: (name: string) => WorkerState | undefined,
  memoryOf: (deployment: string) => MemoryEstimate | undefined,
): WorkerSnapshot[] {
  return workers.map((worker) => {
    const alive = stateOf(worker.name) ?? 'unreachable';
    const state: WorkerState = alive === 'unreachable' ? 'unreachable' : worker.draining ? 'draining' : 'ready';
    const pending = replicas
      .filter((replica) => replica.worker === worker.name && replica.state === 'assigned')
      .reduce((total, replica) => total + (memoryOf(replica.deployment)?.totalBytes ?? 0), 0);
    return {
      name: worker.name,
      state,
      ramTotalBytes: worker.hardware.ramTotalBytes,
      ramFreeBytes: Math.max(0, worker.hardware.ramFreeBytes - pending),
      gpus: worker.hardware.gpus.map((gpu) => ({ index: gpu.index, name: gpu.name, totalBytes: gpu.totalBytes, freeBytes: gpu.freeBytes })),
    };
  });
}
