/**
 * Workers over time for the Workers page: the samples of `GET /v1/pool/workers/{name}/metrics`
 * (one per 10 s bucket, gaps where no heartbeat came) shaped into at most `maxPoints` points per
 * chart over a window ending now, each point the mean of the samples in it, null where none.
 * Pure, so the unit tests cover it.
 */

/** One sample as the API writes it (src/api/routes/pool.ts, sampleView). */
export interface WorkerSample {
  /** Start of its 10 s bucket, unix seconds. */
  at: number;
  cpu_utilization: number | null;
  ram_used_bytes: number;
  ram_total_bytes: number;
  tokens_per_second: number;
  gpus: Array<{ index: number; used_bytes: number; total_bytes: number; utilization_percent: number | null }>;
}

/** The page's charts of one worker, point by point. */
export interface WorkerSeries {
  /** Start of each point's span, unix ms. */
  at: number[];
  cpuPercent: Array<number | null>;
  ramGiB: Array<number | null>;
  /** Every GPU's memory in use, summed; null where the worker reported no GPU. */
  gpuMemoryGiB: Array<number | null>;
  /** The mean of the GPUs that reported utilisation; null where none did. */
  gpuPercent: Array<number | null>;
  tokensPerSecond: Array<number | null>;
  /** Whether any sample had a GPU: the GPU charts are drawn only then. */
  hasGpu: boolean;
}

const gib = 1024 ** 3;

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((total, value) => total + value, 0) / values.length;
}

/** Points over [now - windowMs, now): spans of at least the 10 s the server keeps, at most `maxPoints` of them. */
export function workerSeries(samples: readonly WorkerSample[], now: number, windowMs: number, maxPoints = 120): WorkerSeries {
  const spanMs = Math.max(10_000, Math.ceil(windowMs / maxPoints / 10_000) * 10_000);
  const count = Math.ceil(windowMs / spanMs);
  const start = Math.floor(now / spanMs) * spanMs - (count - 1) * spanMs;
  const spans = Array.from({ length: count }, () => [] as WorkerSample[]);
  for (const sample of samples) spans[Math.floor((sample.at * 1000 - start) / spanMs)]?.push(sample);
  const gpuUsed = (sample: WorkerSample): number | null =>
    sample.gpus.length === 0 ? null : sample.gpus.reduce((total, gpu) => total + gpu.used_bytes, 0) / gib;
  const gpuBusy = (sample: WorkerSample): number | null =>
    mean(sample.gpus.flatMap((gpu) => (gpu.utilization_percent === null ? [] : [gpu.utilization_percent])));
  const of = (pick: (sample: WorkerSample) => number | null): Array<number | null> =>
    spans.map((span) => mean(span.flatMap((sample) => (pick(sample) === null ? [] : [pick(sample)!]))));
  return {
    at: spans.map((_, index) => start + index * spanMs),
    cpuPercent: of((sample) => (sample.cpu_utilization === null ? null : sample.cpu_utilization * 100)),
    ramGiB: of((sample) => sample.ram_used_bytes / gib),
    gpuMemoryGiB: of(gpuUsed),
    gpuPercent: of(gpuBusy),
    tokensPerSecond: of((sample) => sample.tokens_per_second),
    hasGpu: samples.some((sample) => sample.gpus.length > 0),
  };
}

/** The command a new machine runs to join, with the token in the environment (out of process lists), as `nimbus workers token` advises. */
export function joinCommand(controlPlane: string, token: string): string {
  return `NIMBUS_JOIN_TOKEN=${token} nimbus worker --join ${controlPlane}`;
}
