/**
 * The server-like replay simulator (issue 24) on hand-made traces where each figure can be worked
 * out by hand: chunked prefill sharing iterations with decode, KV memory shared by running
 * requests and the cache, the oracle, sessions recovered from prompts, load calibration; and the
 * hot-spot check of estimated-ttft routing.
 */
import { describe, expect, test } from 'vitest';
import { EstimatedTtftRouter } from '../src/cluster/routing/estimated-ttft-router.js';
import { RoundRobinRouter } from '../src/core/replica-router.js';
import { scaleForUtilisation } from '../bench/replay/calibrate-load.js';
import { gpuProfile, type DeviceProfile } from '../bench/replay/device-profiles.js';
import { KvBlocks } from '../bench/replay/kv-blocks.js';
import type { TraceRequest } from '../bench/replay/load-trace.js';
import { OracleRouter } from '../bench/replay/oracle-router.js';
import { conversationSessions } from '../bench/replay/sessions.js';
import { simulateServer, type ServerSimulationOptions } from '../bench/replay/simulate-server.js';

const device: DeviceProfile = { name: 'd', prefillTokensPerSecond: 1024, decodeStepMs: 10, decodeStepPerSequenceMs: 1, slots: 2, cacheBlocks: 100, weight: 1 };
const slo = { ttftMs: 1500, tpotMs: 20 };
const request = (arrivalMs: number, blocks: number[], outputTokens = 11): TraceRequest => ({
  arrivalMs,
  inputTokens: blocks.length * 512,
  outputTokens,
  blocks,
});
const run = (trace: TraceRequest[], extra: Partial<ServerSimulationOptions> = {}) =>
  simulateServer({ trace, replicas: [device], router: () => new RoundRobinRouter(), scale: 1, slo, ...extra });

describe('simulateServer', () => {
  test('one request: 512-token chunks at the prefill speed, then one decode step per token', () => {
    const result = run([request(0, [1, 2])]);
    expect(result.ttftP50Ms).toBe(1000);
    expect(result.tpotMeanMs).toBe(10);
    expect(result.sloAttainment).toBe(1);
    expect(result.prefillUtilisation).toBe(0);
  });

  test('a prompt in prefill slows every decode on the replica: time per output token breaks the SLO', () => {
    // A (1 block, 101 tokens out) decodes while B's 4 blocks prefill, one 500 ms chunk per iteration.
    const result = run([request(0, [1], 101), request(0, [2, 3, 4, 5])]);
    // B starts after A's chunk: 500 ms, then 4 iterations of 500 ms prefill + 10 ms decode.
    expect(result.ttftP99Ms).toBe(500 + 4 * 510);
    // A: 4 tokens at 510 ms, 10 beside B's decode at 11 ms, 86 alone at 10 ms.
    const aTpot = (4 * 510 + 10 * 11 + 86 * 10) / 100;
    expect(result.tpotP99Ms).toBeCloseTo(aTpot, 6);
    expect(result.tpotMissShare).toBe(0.5);
  });

  test('a repeated prefix reuses the cache; running requests squeeze the cache out of KV memory', () => {
    const trace = [request(0, [1, 2, 3]), request(10_000, [7, 8, 9]), request(20_000, [1, 2, 3, 4])];
    const roomy = run(trace);
    // 3 of 4 blocks of the third prompt were cached: 1,536 of 5,120 prompt tokens.
    expect(roomy.cacheHitRate).toBeCloseTo(1536 / 5120, 9);
    // With 5 blocks of KV memory the second request (3 prompt blocks + 1 output) evicts two of the
    // first's, its tail first: the third finds block 1 alone.
    const tight = run(trace, { replicas: [{ ...device, cacheBlocks: 5 }] });
    expect(tight.cacheHitRate).toBeCloseTo(512 / 5120, 9);
  });

  test('a request waits for KV memory, not only for a slot', () => {
    // Each needs 3 blocks (2 prompt, 1 output); 5 blocks hold one at a time.
    const trace = [request(0, [1, 2]), request(0, [3, 4])];
    const result = run(trace, { replicas: [{ ...device, cacheBlocks: 5 }] });
    // The second is admitted once the first ends: 1,000 ms prefill + 10 decode steps of 10 ms.
    expect(result.ttftP99Ms).toBe(1100 + 1000);
  });

  test('every router hears each request sent, its first token and its end with its usage', () => {
    const heard: string[] = [];
    const router = new RoundRobinRouter();
    const observed = Object.assign(router, {
      observe: (outcome: { kind: string; promptTokens?: number; cachedTokens?: number }) =>
        heard.push(`${outcome.kind}:${outcome.promptTokens ?? ''}:${outcome.cachedTokens ?? ''}`),
    });
    run([request(0, [1, 2]), request(5000, [1, 2, 3])], { router: () => observed });
    expect(heard).toEqual(['sent::', 'first-token::', 'ended:1024:0', 'sent::', 'first-token::', 'ended:1536:1024']);
  });

  test('cache reports: each replica tells what it holds at the interval', () => {
    const reports: Array<readonly string[]> = [];
    const router = Object.assign(new RoundRobinRouter(), {
      observe: (outcome: { kind: string; prefixKeys?: readonly string[] }) => {
        if (outcome.kind === 'cached') reports.push(outcome.prefixKeys ?? []);
      },
    });
    run([request(0, [1, 2]), request(3000, [5])], { router: () => router, cacheReportMs: 2000 });
    // Released tail first, so the head is the most recently used.
    expect(reports).toEqual([['1', '2']]);
  });
});

describe('OracleRouter', () => {
  test('sends a prompt where it is cached, unless the queue there costs more than the cache saves', () => {
    const replicas = [device, device];
    const trace = [
      request(0, [1, 2, 3, 4]),
      request(10_000, [1, 2, 3, 4, 5]),
      request(10_000, [9, 10, 11, 12, 13, 14, 15, 16]),
      request(10_001, [1, 2, 3, 4, 6]),
    ];
    const served: string[] = [];
    simulateServer({
      trace,
      replicas,
      scale: 1,
      slo,
      router: ({ replicas: live }) => {
        const oracle = new OracleRouter(live, trace);
        return Object.assign(oracle, {
          observe: (outcome: { kind: string; replica: string }) => void (outcome.kind === 'sent' && served.push(outcome.replica)),
        });
      },
    });
    // The second joins the first's cache; the third (8 blocks) goes to the idle one; the fourth
    // would wait 4 s behind the third, and 1 block of prefill behind the second is cheaper.
    expect(served[1]).toBe(served[0]);
    expect(served[2]).not.toBe(served[0]);
    expect(served[3]).toBe(served[0]);
  });
});

describe('KvBlocks', () => {
  test('shared blocks count once; idle ones are evicted oldest first, a prompt tail before its head', () => {
    const kv = new KvBlocks(6);
    expect(kv.admit([1, 2, 3], 0, 4)).toBe(true);
    kv.computed([1, 2, 3], 0);
    expect(kv.used).toBe(4);
    // A second request sharing 1, 2 holds them too.
    expect(kv.admit([1, 2, 7], 2, 2)).toBe(true);
    expect(kv.used).toBe(6);
    kv.computed([1, 2, 7], 2);
    kv.release([1, 2, 3], 3, 1);
    expect(kv.cached).toBe(1);
    kv.release([1, 2, 7], 3, 1);
    expect(kv.cached).toBe(4);
    // Needs 4 fresh blocks: two idle go, the tails (7, then 3) first.
    expect(kv.admit([20], 0, 4)).toBe(true);
    expect(kv.peek([1, 2])).toBe(2);
    expect(kv.peek([1, 2, 3])).toBe(2);
    expect(kv.peek([1, 2, 7])).toBe(2);
    expect(kv.resident(10).sort()).toEqual([1, 2]);
  });

  test('refuses a request that would not fit even with the cache empty, changing nothing', () => {
    const kv = new KvBlocks(4);
    kv.admit([1], 0, 3);
    expect(kv.admit([2], 0, 2)).toBe(false);
    expect(kv.used).toBe(3);
  });
});

describe('conversationSessions', () => {
  test('a prompt that extends an earlier whole prompt (or all of it but its last block) continues its session', () => {
    const trace = [request(0, [1, 2]), request(1, [1, 2, 3, 4]), request(2, [8, 9]), request(3, [1, 2, 3, 5, 6]), request(4, [7]), request(5, [8, 10])];
    // [8, 10] keeps [8, 9] but its last block: the partial tail of a turn is rewritten by the next.
    expect(conversationSessions(trace)).toEqual(['0', '0', '2', '0', '4', '2']);
    expect(conversationSessions([{ arrivalMs: 0, inputTokens: 10, outputTokens: 1 }])).toEqual([undefined]);
  });
});

describe('scaleForUtilisation', () => {
  test('finds the scale where a proportional load reaches the target', () => {
    const found = scaleForUtilisation(0.85, (scale) => 0.3 * scale);
    expect(found.utilisation).toBeCloseTo(0.85, 1);
    expect(found.scale).toBeCloseTo(0.85 / 0.3, 1);
  });

  test('brackets and bisects a load with a cliff (the cache squeezed out)', () => {
    const cliff = (scale: number) => (scale < 2.2 ? 0.3 * scale : 0.3 * scale + 0.4);
    const found = scaleForUtilisation(0.85, cliff, { maxRuns: 30 });
    // No scale gives 0.85 exactly: the bisection closes on the edge of the cliff.
    expect(found.scale).toBeGreaterThan(2.15);
    expect(found.scale).toBeLessThan(2.25);
  });
});

describe('estimated-ttft: no hot spots', () => {
  test('a shared 4-block system prompt with distinct suffixes at 85% load: no replica over 1.25x the mean', () => {
    // 3,000 requests, Poisson arrivals, 4 shared blocks then 2 to 12 blocks of their own.
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647;
    let at = 0;
    let next = 100;
    const trace: TraceRequest[] = Array.from({ length: 3000 }, () => {
      at += -Math.log(1 - random()) * 100;
      const own = 2 + Math.floor(random() * 11);
      const blocks = [1, 2, 3, 4, ...Array.from({ length: own }, () => next++)];
      return { arrivalMs: at, inputTokens: blocks.length * 512, outputTokens: 20 + Math.floor(random() * 200), blocks };
    });
    const replicas = Array.from({ length: 8 }, () => gpuProfile);
    const at85 = scaleForUtilisation(
      0.85,
      (scale) => simulateServer({ trace, replicas, router: ({ replicas: live }) => new OracleRouter(live, trace), scale, slo }).prefillUtilisation,
    );
    expect(at85.utilisation).toBeCloseTo(0.85, 1);
    const result = simulateServer({ trace, replicas, router: ({ now }) => new EstimatedTtftRouter({ now }), scale: at85.scale, slo });
    expect(result.maxShareOverMean).toBeLessThanOrEqual(1.25);
    // And the shared prompt is reused: 4 of every 6 to 16 blocks.
    expect(result.cacheHitRate).toBeGreaterThan(0.3);
  });

  test('short and long prompts behind one shared system prompt: the load cap keeps every replica within 1.25x (decision 0025)', () => {
    // Every replica comes to hold the shared prompt; ordered by estimated time alone, long prompts
    // avoid replicas with many decodes while short ones still fit there, and a few replicas take
    // most of the short requests: the share of requests skews although the work does not.
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647;
    let at = 0;
    let next = 100;
    const trace: TraceRequest[] = Array.from({ length: 3000 }, () => {
      at += -Math.log(1 - random()) * 100;
      const own = random() < 0.6 ? 1 : 8 + Math.floor(random() * 50);
      const blocks = [1, 2, 3, 4, ...Array.from({ length: own }, () => next++)];
      return { arrivalMs: at, inputTokens: blocks.length * 512, outputTokens: 20 + Math.floor(random() * 300), blocks };
    });
    const replicas = Array.from({ length: 8 }, () => gpuProfile);
    const at85 = scaleForUtilisation(
      0.85,
      (scale) => simulateServer({ trace, replicas, router: ({ replicas: live }) => new OracleRouter(live, trace), scale, slo }).prefillUtilisation,
    );
    const run = (loadCap: number) =>
      simulateServer({ trace, replicas, router: ({ now }) => new EstimatedTtftRouter({ now, loadCap }), scale: at85.scale, slo });
    const [uncapped, capped] = [run(0), run(1.5)];
    expect(uncapped.maxShareOverMean).toBeGreaterThan(1.25);
    expect(capped.maxShareOverMean).toBeLessThanOrEqual(1.25);
    // Not at the cost of time to first token (with decision 0026's cache room, 3.769 s against
    // 3.764 s: within 2%), nor of cache hits (0.231 against 0.232).
    expect(capped.ttftMeanMs).toBeLessThanOrEqual(uncapped.ttftMeanMs * 1.02);
    expect(capped.cacheHitRate).toBeGreaterThan(uncapped.cacheHitRate * 0.98);
  });
});
