/**
 * The replay against real workers (bench/replay/real-replay.ts) on a small hand-made trace: a pool of
 * three `nimbus worker` processes serving stories260K, one deployment per policy, five shared prompt prefixes asked for six
 * times each, in turn. Round-robin scatters each prefix over every worker, so each worker must
 * evaluate it once before reusing it (15 of 30 requests miss); prefix-cache routing keeps each
 * prefix on one worker (5 miss). The cached share of prompt tokens, read from usage, shows it.
 */
import { describe, expect, test } from 'vitest';
import type { TraceRequest } from '../bench/replay/load-trace.js';
import { compressArrivals, promptOf, reusableShare, runRealReplay } from '../bench/replay/real-replay.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const trace: TraceRequest[] = Array.from({ length: 30 }, (_, index) => {
  const prefix = index % 5;
  return {
    arrivalMs: index * 100,
    inputTokens: 5 * 512,
    outputTokens: 20,
    blocks: [prefix * 10, prefix * 10 + 1, prefix * 10 + 2, prefix * 10 + 3, 1000 + index],
  };
});

describe('replay helpers', () => {
  test('equal block ids make equal text; the salt makes a run its own', () => {
    const options = { blockChars: 64, maxBlocks: 5 };
    const first = promptOf(trace[0]!, 'run-1', options);
    const sixth = promptOf(trace[5]!, 'run-1', options);
    expect(first).toHaveLength(5 * 64);
    expect(sixth.slice(0, 4 * 64)).toBe(first.slice(0, 4 * 64));
    expect(sixth.slice(4 * 64)).not.toBe(first.slice(4 * 64));
    expect(promptOf(trace[0]!, 'run-2', options).slice(0, 64)).not.toBe(first.slice(0, 64));
  });

  test('the reusable share counts blocks whose whole prefix came before, within the kept blocks', () => {
    // Five prefixes of four blocks, six times each: every request after a prefix's first reuses its four blocks (25 of them), never its own fifth.
    expect(reusableShare(trace, 5)).toBeCloseTo((25 * 4) / (30 * 5), 10);
    // Kept to two blocks, the same requests reuse both.
    expect(reusableShare(trace, 2)).toBeCloseTo((25 * 2) / (30 * 2), 10);
    // A block seen before under another prefix is not reusable: the cache holds prefixes, not blocks.
    const shifted: TraceRequest[] = [
      { arrivalMs: 0, inputTokens: 1024, outputTokens: 1, blocks: [1, 2] },
      { arrivalMs: 1, inputTokens: 1024, outputTokens: 1, blocks: [3, 2] },
      { arrivalMs: 2, inputTokens: 1024, outputTokens: 1, blocks: [1, 4] },
    ];
    expect(reusableShare(shifted, 8)).toBeCloseTo(1 / 6, 10);
    expect(reusableShare([], 8)).toBe(0);
  });

  test('arrivals keep their shape at the asked rate', () => {
    const arrivals = compressArrivals(
      [
        { arrivalMs: 1000, inputTokens: 1, outputTokens: 1 },
        { arrivalMs: 2000, inputTokens: 1, outputTokens: 1 },
        { arrivalMs: 5000, inputTokens: 1, outputTokens: 1 },
      ],
      2,
    );
    expect(arrivals).toEqual([0, 250, 1000]);
  });
});

describe.skipIf(skipWithoutSharedModel())('replay against real workers', () => {
  test('prefix-cache and estimated-ttft routing reuse more of the prompts than round-robin', { timeout: 180_000 }, async () => {
    const runs = await runRealReplay({
      modelPath: storiesPath!,
      trace,
      policies: ['round-robin', 'prefix-cache', 'estimated-ttft'],
      workers: 3,
      slots: 2,
      blockChars: 64,
      maxBlocks: 5,
      outputScale: 10,
      maxOutput: 2,
      rate: 10,
      rounds: 1,
    });
    const [roundRobin, prefixCache, estimated] = runs;
    expect(roundRobin).toMatchObject({ policy: 'round-robin', requests: 30, errors: 0 });
    expect(prefixCache).toMatchObject({ policy: 'prefix-cache', requests: 30, errors: 0 });
    expect(estimated).toMatchObject({ policy: 'estimated-ttft', requests: 30, errors: 0 });
    // Ideal shares: 15 and 25 of 30 requests reuse 4 of their 5 blocks.
    expect(prefixCache!.cachedShare).toBeGreaterThan(roundRobin!.cachedShare + 0.15);
    // estimated-ttft learns where each prefix went from the pool engine's reports (sent, first token, usage).
    expect(estimated!.cachedShare).toBeGreaterThan(roundRobin!.cachedShare + 0.15);
    expect(Number.isFinite(prefixCache!.ttftMeanMs)).toBe(true);
  });
});
