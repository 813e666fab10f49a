import { expect, test } from 'vitest';
import type { WorkerHardware, WorkerLoadReport } from '../core/pool-store.js';
import { keepMs, sampleMs, WorkerHistory } from './worker-history.js';

const hardware = (used: number, gpuUtil?: number): WorkerHardware => ({
  cpuModel: 'cpu',
  cores: 4,
  ramTotalBytes: 100,
  ramFreeBytes: 100 - used,
  cpuUtilization: 0.25,
  gpus: [{ index: 0, name: 'H100', totalBytes: 80, freeBytes: 80 - used, backend: 'cuda', ...(gpuUtil === undefined ? {} : { utilizationPercent: gpuUtil }) }],
});
const load = (tokensPerSecond: number): WorkerLoadReport => ({ activeSequences: 0, queueDepth: 0, tokensPerSecond, memoryInUseBytes: 0 });

test('one sample per 10 s bucket (the later heartbeat wins), with RAM and GPU memory used and the utilisations', () => {
  const history = new WorkerHistory();
  history.record('w1', hardware(10, 50), load(5), 1_000);
  history.record('w1', hardware(20, 60), load(7), 6_000);
  history.record('w1', hardware(30), load(9), 11_000);
  expect(history.samples('w1')).toEqual([
    {
      at: 0,
      cpuUtilization: 0.25,
      ramUsedBytes: 20,
      ramTotalBytes: 100,
      tokensPerSecond: 7,
      gpus: [{ index: 0, usedBytes: 20, totalBytes: 80, utilizationPercent: 60 }],
    },
    {
      at: 10_000,
      cpuUtilization: 0.25,
      ramUsedBytes: 30,
      ramTotalBytes: 100,
      tokensPerSecond: 9,
      gpus: [{ index: 0, usedBytes: 30, totalBytes: 80, utilizationPercent: null }],
    },
  ]);
  expect(history.samples('w1', 10_000)).toHaveLength(1);
  expect(history.samples('unknown')).toEqual([]);
});

test('bounded: 24 hours of samples a worker, and the longest silent worker dropped past the cap', () => {
  const history = new WorkerHistory(2);
  const start = 1_000_000_000;
  for (let at = start; at <= start + keepMs + 5 * sampleMs; at += sampleMs) history.record('w1', hardware(1), load(1), at);
  const samples = history.samples('w1');
  expect(samples).toHaveLength(keepMs / sampleMs);
  expect(samples[0]!.at).toBe(start + 6 * sampleMs);
  history.record('w2', hardware(1), load(1), start);
  history.record('w1', hardware(1), load(1), start + keepMs + 6 * sampleMs);
  history.record('w3', hardware(1), load(1), start);
  expect(history.samples('w2')).toEqual([]);
  expect(history.samples('w1').length).toBeGreaterThan(0);
  expect(history.samples('w3')).toHaveLength(1);
});
