import { describe, expect, test } from 'vitest';
import { joinCommand, workerSeries, type WorkerSample } from './worker-series.js';

const gib = 1024 ** 3;
const sample = (atMs: number, fields: Partial<WorkerSample> = {}): WorkerSample => ({
  at: atMs / 1000,
  cpu_utilization: 0.5,
  ram_used_bytes: 2 * gib,
  ram_total_bytes: 8 * gib,
  tokens_per_second: 10,
  gpus: [],
  ...fields,
});

describe('workerSeries', () => {
  const now = 1_000_000_000_000; // a multiple of 10 s

  test('the last minute: a point per 10 s bucket, the newest ending now, gaps where no heartbeat came', () => {
    const series = workerSeries([sample(now - 50_000, { cpu_utilization: 0.25 }), sample(now, { tokens_per_second: 42 })], now, 60_000);
    expect(series.at).toHaveLength(6);
    expect(series.at.at(-1)).toBe(now);
    expect(series.cpuPercent).toEqual([25, null, null, null, null, 50]);
    expect(series.tokensPerSecond).toEqual([10, null, null, null, null, 42]);
    expect(series.ramGiB[0]).toBe(2);
    expect(series.hasGpu).toBe(false);
    expect(series.gpuMemoryGiB.every((value) => value === null)).toBe(true);
  });

  test('24 hours: at most the points asked for, each the mean of its samples; older samples fall outside', () => {
    const samples = [sample(now - 86_400_000 - 60_000), sample(now - 10_000, { cpu_utilization: 0.2 }), sample(now, { cpu_utilization: 0.4 })];
    const series = workerSeries(samples, now, 86_400_000, 120);
    expect(series.at.length).toBeLessThanOrEqual(120);
    expect(series.cpuPercent.at(-1)).toBeCloseTo(30);
    expect(series.cpuPercent.filter((value) => value !== null)).toHaveLength(1);
  });

  test('GPUs: memory in use summed, utilisation the mean of those that report it; no CPU share reads as a gap', () => {
    const gpus = [
      { index: 0, used_bytes: 3 * gib, total_bytes: 80 * gib, utilization_percent: 80 },
      { index: 1, used_bytes: 1 * gib, total_bytes: 24 * gib, utilization_percent: null },
    ];
    const series = workerSeries([sample(now, { gpus, cpu_utilization: null })], now, 30_000);
    expect(series.hasGpu).toBe(true);
    expect(series.gpuMemoryGiB.at(-1)).toBe(4);
    expect(series.gpuPercent.at(-1)).toBe(80);
    expect(series.cpuPercent.at(-1)).toBeNull();
  });
});

test('the join command keeps the token out of the process list', () => {
  expect(joinCommand('http://10.0.0.5:8080', 'nmbj_abc')).toBe('NIMBUS_JOIN_TOKEN=nmbj_abc nimbus worker --join http://10.0.0.5:8080');
});
