import type { Token } from 'node-llama-cpp';
import { describe, expect, test } from 'vitest';
import { FilePins, PromptCacheIndex, type PromptCacheEntry } from './prompt-cache.js';

const entry = (name: string, tokens: number[], bytes = 10): PromptCacheEntry => ({ tokens: tokens as Token[], path: name, bytes });
const prompt = (...values: number[]) => values as Token[];

describe('PromptCacheIndex', () => {
  test('finds the entry sharing the longest prefix, above the bar', () => {
    const index = new PromptCacheIndex(1000);
    index.add(entry('a', [1, 2, 3, 4]));
    index.add(entry('b', [1, 2, 3, 4, 5, 6, 9]));
    index.add(entry('c', [7, 8]));
    expect(index.longest(prompt(1, 2, 3, 4, 5, 6, 7, 8), 0)).toMatchObject({ entry: { path: 'b' }, length: 6 });
    expect(index.longest(prompt(7, 8, 9), 0)).toMatchObject({ entry: { path: 'c' }, length: 2 });
    // The prompt's last token is always evaluated: a prompt equal to an entry reuses all but one.
    expect(index.longest(prompt(7, 8), 0)).toMatchObject({ entry: { path: 'c' }, length: 1 });
    expect(index.longest(prompt(1, 2, 3, 4, 5, 6, 7, 8), 6)).toBeUndefined();
    expect(index.longest(prompt(5, 5, 5), 0)).toBeUndefined();
  });

  test('an entry supersedes the ones that are its prefix', () => {
    const index = new PromptCacheIndex(1000);
    index.add(entry('short', [1, 2, 3]));
    index.add(entry('other', [1, 2, 9]));
    const removed = index.add(entry('long', [1, 2, 3, 4, 5]));
    expect(removed.map((gone) => gone.path)).toEqual(['short']);
    expect(index.all().map((kept) => kept.path)).toEqual(['other', 'long']);
    expect(index.bytes).toBe(20);
  });

  test('covers: tokens already held at the start of an entry need no new file', () => {
    const index = new PromptCacheIndex(1000);
    index.add(entry('a', [1, 2, 3, 4]));
    expect(index.covers(prompt(1, 2, 3))).toBe(true);
    expect(index.covers(prompt(1, 2, 3, 4))).toBe(true);
    expect(index.covers(prompt(1, 2, 3, 4, 5))).toBe(false);
    expect(index.covers(prompt(2, 3))).toBe(false);
  });

  test('past the budget, the least recently used entries leave; a touch keeps one', () => {
    const index = new PromptCacheIndex(30);
    index.add(entry('a', [1]));
    index.add(entry('b', [2]));
    index.add(entry('c', [3]));
    index.touch(index.all()[0]!); // a is now the most recent
    const removed = index.add(entry('d', [4]));
    expect(removed.map((gone) => gone.path)).toEqual(['b']);
    expect(index.all().map((kept) => kept.path)).toEqual(['c', 'a', 'd']);
    expect(index.bytes).toBe(30);
    expect(index.size).toBe(3);
  });

  test('its budget in tokens: unknown before a state is saved, then at the bytes per token of every state saved', () => {
    const index = new PromptCacheIndex(1000);
    expect(index.tokenCapacity).toBeUndefined();
    index.add(entry('a', [1, 2, 3, 4], 40));
    expect(index.tokenCapacity).toBe(100);
    // 40 + 80 bytes for 4 + 6 tokens: 12 bytes a token.
    index.add(entry('b', [5, 6, 7, 8, 9, 10], 80));
    expect(index.tokenCapacity).toBe(83);
    // States that left (superseded or evicted) still count: the ratio is the model's, not the entries'.
    index.add(entry('c', [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 100));
    expect(index.all().map((kept) => kept.path)).toEqual(['a', 'c']);
    expect(index.tokenCapacity).toBe(Math.floor((1000 * 20) / 220));
  });
});

describe('FilePins', () => {
  test('a file discarded while pinned goes only when its last pin is released', async () => {
    const removed: string[] = [];
    const pins = new FilePins(async (path) => void removed.push(path));
    const first = pins.pin('a');
    const second = pins.pin('a');
    await pins.discard('a');
    expect(removed).toEqual([]);
    await first();
    await first(); // a release counts once
    expect(removed).toEqual([]);
    await second();
    expect(removed).toEqual(['a']);
    expect(pins.pinned).toBe(0);
  });

  test('an unpinned file goes at once; a released pin of a kept file removes nothing', async () => {
    const removed: string[] = [];
    const pins = new FilePins(async (path) => void removed.push(path));
    await pins.discard('b');
    expect(removed).toEqual(['b']);
    const release = pins.pin('c');
    await release();
    expect(removed).toEqual(['b']);
  });
});
