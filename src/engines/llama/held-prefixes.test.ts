import { describe, expect, test } from 'vitest';
import { prefixKeysOf } from '../../cluster/routing/routing-keys.js';
import { HeldPrefixes, holds, maxPendingReports, maxReportedPrefixKeys } from './held-prefixes.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, index) => from + index);
const keys = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

describe('holds', () => {
  test('a holder holds a prompt whose tokens but the last lead it', () => {
    expect(holds([1, 2, 3, 4, 5], [1, 2, 3])).toBe(true);
    expect(holds([1, 2, 3], [1, 2, 3])).toBe(true);
    // The last prompt token is evaluated again: a cache without it still holds the prompt.
    expect(holds([1, 2], [1, 2, 3])).toBe(true);
    expect(holds([1], [1, 2, 3])).toBe(false);
    expect(holds([1, 9, 3, 4], [1, 2, 3])).toBe(false);
    expect(holds([9, 2, 3, 4], [1, 2, 3])).toBe(false);
    expect(holds([], [1, 2])).toBe(false);
  });

  test('a one-token prompt is held by a holder starting with it', () => {
    expect(holds([7, 8], [7])).toBe(true);
    expect(holds([8], [7])).toBe(false);
    expect(holds([], [7])).toBe(false);
    expect(holds([7], [])).toBe(false);
  });

  test('works on typed arrays as on plain ones', () => {
    expect(holds(Uint32Array.from([1, 2, 3]), Uint32Array.from([1, 2]))).toBe(true);
  });
});

describe('HeldPrefixes', () => {
  test('reports the keys of the prompts some holder holds, newest prompt first, each head first', () => {
    const held = new HeldPrefixes();
    held.record(['a0', 'a1'], range(0, 10));
    held.record(['b0', 'b1', 'b2'], range(100, 120));
    expect(held.report([range(0, 12), range(100, 130)])).toEqual({ keys: ['b0', 'b1', 'b2', 'a0', 'a1'], complete: true });
  });

  test('a prompt no holder has any more is left out and forgotten for good', () => {
    const held = new HeldPrefixes();
    held.record(['a0'], range(0, 10));
    held.record(['b0'], range(100, 110));
    expect(held.report([range(0, 10), range(100, 110)])).toEqual({ keys: ['b0', 'a0'], complete: true });
    expect(held.report([range(100, 110)])).toEqual({ keys: ['b0'], complete: true });
    expect(held.size).toBe(1);
    // Even were a holder to show the same tokens later, the forgotten record stays gone (a new run records it again).
    expect(held.report([range(0, 10), range(100, 110)])).toEqual({ keys: ['b0'], complete: true });
  });

  test('nothing held: an empty, complete report', () => {
    const held = new HeldPrefixes();
    expect(held.report([])).toEqual({ keys: [], complete: true });
    held.record(['a0'], range(0, 10));
    expect(held.report([[]])).toEqual({ keys: [], complete: true });
  });

  test('a prompt recorded but not yet run (the slot holds the previous one) is not reported', () => {
    const held = new HeldPrefixes();
    held.record(['a0'], range(0, 10));
    held.record(['b0'], range(50, 60));
    expect(held.report([range(0, 10)]).keys).toEqual(['a0']);
  });

  test('a prompt still being evaluated across reports is kept until held, then listed; one never held goes after maxPendingReports', () => {
    const held = new HeldPrefixes();
    held.record(['a0'], range(0, 10));
    // Reports while its evaluation runs (the slot holds part of it): not listed, not forgotten.
    for (let beat = 0; beat < 3; beat += 1) expect(held.report([range(0, 4)])).toEqual({ keys: [], complete: true });
    expect(held.report([range(0, 12)])).toEqual({ keys: ['a0'], complete: true });
    // A prompt that never runs (its request failed) is dropped after the bound.
    held.record(['f0'], range(200, 210));
    for (let beat = 0; beat < maxPendingReports; beat += 1) held.report([range(0, 12)]);
    expect(held.size).toBe(2);
    held.report([range(0, 12)]);
    expect(held.size).toBe(1);
    expect(held.report([range(0, 12)]).keys).toEqual(['a0']);
  });

  test('a key shared by two prompts (a common system prompt) is listed once, where it is newest', () => {
    const held = new HeldPrefixes();
    held.record(['s', 'x1'], [1, 2, 3, 4]);
    held.record(['s', 'y1'], [1, 2, 5, 6]);
    expect(
      held.report([
        [1, 2, 3, 4],
        [1, 2, 5, 6],
      ]).keys,
    ).toEqual(['s', 'y1', 'x1']);
  });

  test('a prompt run again counts as newest', () => {
    const held = new HeldPrefixes();
    held.record(['a0'], range(0, 10));
    held.record(['b0'], range(100, 110));
    held.record(['a0'], range(0, 10));
    expect(held.report([range(0, 10), range(100, 110)]).keys).toEqual(['a0', 'b0']);
  });

  test('bounded: at most `limit` keys, the newest; incomplete when more were held', () => {
    const held = new HeldPrefixes();
    held.record(keys('old', 3), range(0, 10));
    held.record(keys('new', 4), range(100, 110));
    expect(held.report([range(0, 10), range(100, 110)], 5)).toEqual({ keys: ['new0', 'new1', 'new2', 'new3', 'old0'], complete: false });
    expect(held.report([range(0, 10), range(100, 110)], 7)).toEqual({ keys: [...keys('new', 4), ...keys('old', 3)], complete: true });
    // A record cut off by the bound is still remembered: the next report may list it.
    expect(held.size).toBe(2);
  });

  test('the default bound is 256 keys a heartbeat', () => {
    expect(maxReportedPrefixKeys).toBe(256);
    const held = new HeldPrefixes();
    for (let prompt = 0; prompt < 5; prompt += 1) held.record(keys(`p${prompt}-`, 64), range(prompt * 1000, prompt * 1000 + 50));
    const holders = range(0, 5).map((prompt) => range(prompt * 1000, prompt * 1000 + 50));
    const report = held.report(holders);
    expect(report.keys).toHaveLength(256);
    expect(report.complete).toBe(false);
    expect(report.keys[0]).toBe('p4-0');
    expect(report.keys).not.toContain('p0-0');
  });

  test('remembers at most `maxRecords` prompts, dropping the oldest', () => {
    const held = new HeldPrefixes(3);
    for (let prompt = 0; prompt < 5; prompt += 1) held.record([`k${prompt}`], [prompt + 1]);
    expect(held.size).toBe(3);
    expect(held.report(range(1, 6).map((token) => [token])).keys).toEqual(['k4', 'k3', 'k2']);
  });

  test('ignores prompts with no keys or no tokens', () => {
    const held = new HeldPrefixes();
    held.record([], [1, 2]);
    held.record(['a'], []);
    expect(held.size).toBe(0);
  });

  test('the keys are the router’s: a prompt’s text hashed with the same blocks', () => {
    const text = 'x'.repeat(5000);
    const held = new HeldPrefixes();
    held.record(prefixKeysOf(text), [1, 2, 3]);
    expect(held.report([[1, 2, 3]]).keys).toEqual(prefixKeysOf(text));
    expect(prefixKeysOf(text)).toHaveLength(2);
  });
});
