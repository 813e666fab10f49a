import { expect, test } from 'vitest';
import { approximateTokens, chunkText, fitChunkingToModel } from './chunking.js';

const words = (count: number) => Array.from({ length: count }, (_, index) => `w${String(index).padStart(3, '0')}`).join(' ');

test('a short text is one chunk with its approximate token count', () => {
  expect(chunkText('hello world', { maxChunkSizeTokens: 100, chunkOverlapTokens: 50 })).toEqual([{ text: 'hello world', tokens: 4 }]);
  expect(chunkText('  \n ', { maxChunkSizeTokens: 100, chunkOverlapTokens: 50 })).toEqual([]);
});

test('chunks hold at most the limit, overlap by about the overlap, and cover every word in order', () => {
  // Each word "w000 " is 5 characters: 2 tokens.
  const chunks = chunkText(words(100), { maxChunkSizeTokens: 20, chunkOverlapTokens: 6 });
  for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(20);
  expect(chunks[0]!.text.split(' ')).toHaveLength(10);
  // The second chunk starts 3 words (6 tokens) before the first one ends.
  expect(chunks[1]!.text.startsWith('w007 ')).toBe(true);
  const seen = new Set(chunks.flatMap((chunk) => chunk.text.split(' ')));
  expect(seen.size).toBe(100);
  expect(chunks.at(-1)!.text.endsWith('w099')).toBe(true);
});

test('no overlap means disjoint chunks; a word longer than a chunk is cut', () => {
  const chunks = chunkText(words(10), { maxChunkSizeTokens: 4, chunkOverlapTokens: 0 });
  expect(chunks.map((chunk) => chunk.text)).toEqual(['w000 w001', 'w002 w003', 'w004 w005', 'w006 w007', 'w008 w009']);
  const long = chunkText('x'.repeat(1000), { maxChunkSizeTokens: 100, chunkOverlapTokens: 0 });
  expect(long.map((chunk) => chunk.text.length)).toEqual([400, 400, 200]);
  expect(approximateTokens('abcdefgh')).toBe(2);
});

/** A tokenizer whose counts do not add up word by word: a marker token at the start of every text, one token per 3 characters. */
const marked = (text: string): number => (text ? 1 + Math.ceil(text.length / 3) : 0);

test('with a tokenizer each chunk is counted whole and kept within the limit, with that count', () => {
  const text = words(200);
  const chunks = chunkText(text, { maxChunkSizeTokens: 30, chunkOverlapTokens: 10 }, marked);
  expect(chunks.length).toBeGreaterThan(5);
  for (const chunk of chunks) {
    expect(chunk.tokens).toBe(marked(chunk.text));
    expect(chunk.tokens).toBeLessThanOrEqual(30);
  }
  // Counted word by word, 12 words take 12 x 3 = 36 tokens (over 30) but whole they take 1 + 20: more words fit than the sum says.
  expect(chunks[0]!.text.split(' ').length).toBeGreaterThan(10);
  expect(new Set(chunks.flatMap((chunk) => chunk.text.split(' '))).size).toBe(200);
});

test('with a tokenizer a word longer than a chunk is cut into the longest pieces that fit', () => {
  const chunks = chunkText('y'.repeat(1000), { maxChunkSizeTokens: 100, chunkOverlapTokens: 0 }, marked);
  expect(chunks.map((chunk) => chunk.tokens)).toEqual([100, 100, 100, 38]);
  expect(chunks.map((chunk) => chunk.text).join('')).toBe('y'.repeat(1000));
});

test.each([
  // [asked max, asked overlap, context, exact tokenizer, expected max, expected overlap]
  [800, 400, undefined, true, 800, 400],
  [800, 400, 0, true, 800, 400],
  [800, 400, 4096, true, 800, 400],
  [800, 400, 800, true, 800, 400],
  [800, 400, 512, true, 512, 256],
  [800, 400, 512, false, 409, 204],
  [800, 0, 512, true, 512, 0],
  [300, 100, 256, true, 256, 85],
  [100, 50, 1, true, 1, 0],
  [1000, 500, 640, false, 512, 256],
])('fitChunkingToModel(%i/%i, context %s, exact %s) -> %i/%i', (max, overlap, context, exact, fitMax, fitOverlap) => {
  const fitted = fitChunkingToModel({ maxChunkSizeTokens: max, chunkOverlapTokens: overlap }, context, exact);
  expect(fitted).toEqual({ maxChunkSizeTokens: fitMax, chunkOverlapTokens: fitOverlap });
  expect(fitted.chunkOverlapTokens).toBeLessThanOrEqual(fitted.maxChunkSizeTokens / 2);
});

test('chunks cut with the fitted settings stay within a small context by the estimate', () => {
  const text = 'word '.repeat(5000);
  const fitted = fitChunkingToModel({ maxChunkSizeTokens: 800, chunkOverlapTokens: 400 }, 128, false);
  for (const chunk of chunkText(text, fitted)) expect(chunk.tokens).toBeLessThanOrEqual(128);
});
