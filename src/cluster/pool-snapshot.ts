/**
 * The pool as placement sees it: each worker's memory, free and total, per device. Workers
 * report these figures in their heartbeats; placement never reads hardware itself.
 */

/** One GPU of a worker. */
export interface GpuSnapshot {
  /** The device index on its worker (CUDA ordinal). */
  index: number;
  /** Marketing name, for explanations (`NVIDIA H100 80GB HBM3`). */
  name: string;
  totalBytes: number;
  /** Free now: total minus what other models and replicas already hold. */
  freeBytes: number;
}

/** Whether a worker takes new replicas: only `ready` ones do. */
export type WorkerState = 'ready' | 'draining' | 'unreachable';

/** One worker machine. */
export interface WorkerSnapshot {
  name: string;
  state: WorkerState;
  ramTotalBytes: number;
  /** CPU RAM free for models (after the OS and the worker's own process). */
  ramFreeBytes: number;
  gpus: GpuSnapshot[];
}

/** Bytes as GiB with one decimal, for explanations people read. */
export function gibibytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
