/**
 * The replay simulator's mechanics on tiny hand-made traces, where every figure can be worked
 * out by hand: prefill time from the profile, prefix-cache reuse, queueing, LRU eviction.
 */
import { describe, expect, test } from 'vitest';
import { RoundRobinRouter } from '../src/core/replica-router.js';
import { PrefixCacheRouter } from '../src/cluster/routing/prefix-cache-router.js';
import type { DeviceProfile } from '../bench/replay/device-profiles.js';
import type { TraceRequest } from '../bench/replay/load-trace.js';
import { PrefixLru } from '../bench/replay/prefix-lru.js';
import { percentile, simulatePool } from '../bench/replay/simulate-pool.js';

const device: DeviceProfile = { name: 'd', prefillTokensPerSecond: 1024, decodeStepMs: 10, decodeStepPerSequenceMs: 1, slots: 2, cacheBlocks: 100, weight: 1 };
const slo = { ttftMs: 1500, tpotMs: 20 };
const request = (arrivalMs: number, blocks: number[], outputTokens = 11): TraceRequest => ({
  arrivalMs,
  inputTokens: blocks.length * 512,
  outputTokens,
  blocks,
});

describe('simulatePool', () => {
  test('one request: TTFT is its prefill time, TPOT the decode step', () => {
    const result = simulatePool({ trace: [request(0, [1, 2])], replicas: [device], router: new RoundRobinRouter(), load: 1, slo });
    expect(result.ttftP50Ms).toBe(1000);
    expect(result.tpotMeanMs).toBe(10);
    expect(result.throughput).toBeCloseTo(11 / 1.1, 6);
    expect(result.sloAttainment).toBe(1);
  });

  test('a repeated prefix on the same replica prefills only the new blocks', () => {
    const trace = [request(0, [1, 2, 3, 4]), request(5000, [1, 2, 3, 4, 5, 6])];
    const result = simulatePool({ trace, replicas: [device], router: new RoundRobinRouter(), load: 1, slo });
    // Second: 4 of 6 blocks cached, 1,024 tokens at 1,024 tokens/s.
    expect(result.ttftP99Ms).toBe(2000);
    expect(result.ttftP50Ms).toBe(1000);
    expect(result.cacheHitRate).toBeCloseTo(2048 / 5120, 6);
  });

  test('round-robin splits a shared prefix across replicas; the prefix-cache policy keeps it together', () => {
    const trace = [request(0, [7, 8]), request(3000, [7, 8, 9]), request(6000, [7, 8, 10])];
    const replicas = [device, device, device];
    const spread = simulatePool({ trace, replicas, router: new RoundRobinRouter(), load: 1, slo });
    const kept = simulatePool({ trace, replicas, router: new PrefixCacheRouter(), load: 1, slo });
    expect(spread.cacheHitRate).toBe(0);
    // Second and third each reuse 2 of their 3 blocks: 2,048 of 4,096 prompt tokens.
    expect(kept.cacheHitRate).toBe(0.5);
    expect(kept.ttftMeanMs).toBeLessThan(spread.ttftMeanMs);
  });

  test('requests queue behind the one prefilling; load compresses arrivals', () => {
    const trace = [request(0, [1, 2]), request(0, [3, 4])];
    const result = simulatePool({ trace, replicas: [device], router: new RoundRobinRouter(), load: 1, slo });
    expect(result.ttftP99Ms).toBe(2000);
    const faster = simulatePool({ trace: [request(0, [1]), request(1000, [2])], replicas: [device], router: new RoundRobinRouter(), load: 2, slo });
    // At load 2 the second arrives at 500 ms, when the first (500 ms of prefill) is done.
    expect(faster.ttftP99Ms).toBe(500);
  });

  test('SLO goodput counts only requests within both bounds', () => {
    const trace = [request(0, [1]), request(0, [2, 3, 4])];
    const result = simulatePool({ trace, replicas: [device], router: new RoundRobinRouter(), load: 1, slo });
    expect(result.sloAttainment).toBe(0.5);
  });
});

describe('PrefixLru', () => {
  test('hits count only the leading run, and the least recently used block goes first', () => {
    const cache = new PrefixLru(3);
    cache.insert([1, 2, 3]);
    expect(cache.hit([1, 2, 9, 3])).toBe(2);
    cache.insert([4]);
    // 3 was least recently used (1 and 2 were just touched).
    expect(cache.hit([3])).toBe(0);
    expect(cache.hit([1, 2, 4])).toBe(3);
  });
});

test('percentile uses the nearest rank', () => {
  expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
  expect(percentile([], 0.5)).toBe(0);
});
