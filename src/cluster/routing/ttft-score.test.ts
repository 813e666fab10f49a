import { describe, expect, test } from 'vitest';
import { LearnedRatio, estimateTtftMs, observedPrefillMs, queueAfterSend, uncachedTokens } from './ttft-score.js';

const inputs = { queuedMs: 0, uncachedTokens: 1000, tokensPerSecond: 1000, decoding: 0, decodeWeight: 0.01 };

describe('estimateTtftMs', () => {
  test.each([
    // [case, overrides, expected ms]
    ['an idle replica: its own prefill alone', {}, 1000],
    ['the queue ahead adds as is', { queuedMs: 250 }, 1250],
    ['a negative queue (already drained) counts as none', { queuedMs: -500 }, 1000],
    ['twice the speed, half the time', { tokensPerSecond: 2000 }, 500],
    ['a fully cached prompt costs only the wait', { uncachedTokens: 0, queuedMs: 40 }, 40],
    ['negative uncached tokens count as none', { uncachedTokens: -5 }, 0],
    ['ten decoding requests slow its own prefill by 10%', { decoding: 10 }, 1100],
    ['decode pressure does not scale the queue ahead', { decoding: 10, queuedMs: 1000 }, 2100],
    ['no decode weight: decodes are free', { decoding: 50, decodeWeight: 0 }, 1000],
    ['a negative decode weight counts as none', { decoding: 5, decodeWeight: -1 }, 1000],
    ['negative decoding counts as none', { decoding: -3 }, 1000],
  ])('%s', (_name, overrides, expected) => {
    expect(estimateTtftMs({ ...inputs, ...overrides })).toBeCloseTo(expected, 6);
  });

  test('a replica of unknown or zero speed never looks free', () => {
    expect(estimateTtftMs({ ...inputs, tokensPerSecond: 0 })).toBe(Infinity);
    expect(estimateTtftMs({ ...inputs, tokensPerSecond: 0, uncachedTokens: 0 })).toBe(0);
  });

  test('a cached replica with a short queue beats an idle one that must prefill it all', () => {
    const warm = estimateTtftMs({ ...inputs, queuedMs: 300, uncachedTokens: 100 });
    const cold = estimateTtftMs({ ...inputs, uncachedTokens: 1000 });
    expect(warm).toBeLessThan(cold);
    // ...until its queue is longer than what the cache saves.
    expect(estimateTtftMs({ ...inputs, queuedMs: 950, uncachedTokens: 100 })).toBeGreaterThan(cold);
  });
});

describe('uncachedTokens', () => {
  test.each([
    [1000, 0, 256, 1000],
    [1000, 2, 256, 488],
    [1024, 4, 256, 1],
    [1024, 10, 256, 1],
    [1, 0, 256, 1],
    [0, 0, 256, 0],
    [-3, 0, 256, 0],
    [500, -1, 256, 500],
    [600, 1, 128.5, 471.5],
  ])('%d prompt tokens, %d blocks held of %d tokens: %d to compute', (prompt, blocks, perBlock, expected) => {
    expect(uncachedTokens(prompt, blocks, perBlock)).toBeCloseTo(expected, 6);
  });
});

describe('LearnedRatio', () => {
  test('reads its prior before any sample', () => {
    expect(new LearnedRatio(4, 100).value).toBe(4);
  });

  test('samples outweigh the prior in proportion to their size', () => {
    const ratio = new LearnedRatio(4, 100, 1);
    ratio.add(300, 100);
    expect(ratio.value).toBe(3.5);
    ratio.add(3000, 1000);
    expect(ratio.value).toBeCloseTo((400 + 300 + 3000) / (100 + 100 + 1000), 9);
  });

  test('older samples decay: a changed rate is followed', () => {
    const ratio = new LearnedRatio(1000, 1, 0.9);
    for (let sample = 0; sample < 60; sample += 1) ratio.add(8000, 1);
    expect(ratio.value).toBeGreaterThan(7900);
  });

  test('ignores empty, negative and non-finite samples', () => {
    const ratio = new LearnedRatio(2, 10);
    for (const [numerator, denominator] of [
      [0, 1],
      [1, 0],
      [-1, 1],
      [1, -1],
      [Infinity, 1],
      [1, Number.NaN],
    ] as const)
      ratio.add(numerator, denominator);
    expect(ratio.value).toBe(2);
  });

  test('refuses a prior that is not positive', () => {
    expect(() => new LearnedRatio(0, 1)).toThrowError(/positive prior/);
    expect(() => new LearnedRatio(1, 0)).toThrowError(/positive prior/);
  });
});

describe('queueAfterSend', () => {
  test.each([
    ['an idle replica starts now', 100, 500, 200, { startMs: 500, busyUntilMs: 700 }],
    ['a busy one starts when its queue ends', 900, 500, 200, { startMs: 900, busyUntilMs: 1100 }],
    ['no prefill leaves the queue as is', 900, 500, 0, { startMs: 900, busyUntilMs: 900 }],
    ['a negative prefill counts as none', 900, 500, -50, { startMs: 900, busyUntilMs: 900 }],
  ])('%s', (_name, busyUntil, now, prefill, expected) => {
    expect(queueAfterSend(busyUntil, now, prefill)).toEqual(expected);
  });
});

describe('observedPrefillMs', () => {
  test.each([
    ['sent to an idle replica: from sending', 100, -Infinity, 400, 300],
    ['queued behind another: from the previous first token', 100, 250, 400, 150],
    ['the previous first token came before it was sent', 100, 50, 400, 300],
  ])('%s', (_name, sent, previous, first, expected) => {
    expect(observedPrefillMs(sent, previous, first)).toBe(expected);
  });
});
