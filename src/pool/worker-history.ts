/**
 * Workers over time: each heartbeat's CPU, RAM, GPU memory and utilisation and tokens per second,
 * kept per worker in memory by the control plane that received it, one sample per 10 s bucket
 * (a later heartbeat in the same bucket replaces it) for 24 hours: at most 8,640 samples a worker,
 * for at most `maxWorkers` workers (the longest silent is dropped first). Lost on restart, and each
 * control plane keeps what reached it; the pool's records stay the truth of what a worker is now.
 */
import type { WorkerHardware, WorkerLoadReport } from '../core/pool-store.js';

/** One sample of a worker. */
export interface WorkerSample {
  /** Start of its 10 s bucket, unix ms. */
  at: number;
  cpuUtilization: number | null;
  ramUsedBytes: number;
  ramTotalBytes: number;
  tokensPerSecond: number;
  gpus: Array<{ index: number; usedBytes: number; totalBytes: number; utilizationPercent: number | null }>;
}

export const sampleMs = 10_000;
export const keepMs = 86_400_000;

/** The history of every worker, bounded in time and in workers. */
export class WorkerHistory {
  private readonly workers = new Map<string, WorkerSample[]>();

  constructor(private readonly maxWorkers = 1000) {}

  /** Records a heartbeat's figures at `now`. */
  record(name: string, hardware: WorkerHardware, load: WorkerLoadReport, now: number): void {
    const sample: WorkerSample = {
      at: Math.floor(now / sampleMs) * sampleMs,
      cpuUtilization: hardware.cpuUtilization ?? null,
      ramUsedBytes: hardware.ramTotalBytes - hardware.ramFreeBytes,
      ramTotalBytes: hardware.ramTotalBytes,
      tokensPerSecond: load.tokensPerSecond,
      gpus: hardware.gpus.map((gpu) => ({
        index: gpu.index,
        usedBytes: gpu.totalBytes - gpu.freeBytes,
        totalBytes: gpu.totalBytes,
        utilizationPercent: gpu.utilizationPercent ?? null,
      })),
    };
    let samples = this.workers.get(name);
    if (samples) this.workers.delete(name);
    else samples = [];
    // Re-inserted, so the map's order is by last heartbeat: the first entry is the longest silent.
    this.workers.set(name, samples);
    if (samples.at(-1)?.at === sample.at) samples[samples.length - 1] = sample;
    else samples.push(sample);
    let drop = 0;
    while (drop < samples.length && samples[drop]!.at <= sample.at - keepMs) drop += 1;
    if (drop > 0) samples.splice(0, drop);
    while (this.workers.size > this.maxWorkers) this.workers.delete(this.workers.keys().next().value!);
  }

  /** A worker's samples at or after `since`, oldest first; empty for a worker never heard. */
  samples(name: string, since = 0): WorkerSample[] {
    return (this.workers.get(name) ?? []).filter((sample) => sample.at >= since);
  }

  /** Forgets a removed worker. */
  forget(name: string): void {
    this.workers.delete(name);
  }
}
