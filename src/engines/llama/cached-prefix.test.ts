import { describe, expect, test } from 'vitest';
import type { Token } from 'node-llama-cpp';
import { cachedPrefix } from './prompt-cache.js';
import { reusablePrefix } from './slot-choice.js';

const tokens = (...values: number[]) => values as Token[];

describe('cachedPrefix', () => {
  test.each([
    [[], [1, 2, 3], 0],
    [[1, 2, 3], [1, 2, 4], 2],
    [[1, 2, 3, 4, 5], [1, 2, 3], 2],
    [[1, 2, 3], [1, 2, 3], 2],
    [[9], [1, 2], 0],
    [[1, 2, 3, 4], [1, 2, 3, 4, 5, 6], 4],
  ])('held %j, prompt %j -> %i', (held, prompt, expected) => {
    expect(cachedPrefix(tokens(...held), tokens(...prompt))).toBe(expected);
  });
});

describe('reusablePrefix', () => {
  const long = Array.from({ length: 100 }, (_, index) => index + 1);
  test.each([
    ['a shared BOS only', [1, 5, 6], [1, 7, 8], 0],
    ['half of a short prompt', [1, 2, 3, 9], [1, 2, 3, 4, 5, 6], 3],
    ['under half of a short prompt', [1, 2, 9], [1, 2, 3, 4, 5, 6], 0],
    ['64 tokens of a long prompt', long.slice(0, 64).concat([999]), long.concat(long).concat(long), 64],
  ])('%s', (_name, held, prompt, expected) => {
    expect(reusablePrefix(tokens(...held), tokens(...prompt))).toBe(expected);
  });
});
