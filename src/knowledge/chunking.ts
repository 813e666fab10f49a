/**
 * Cuts a file's text into chunks of at most `maxChunkSizeTokens` tokens, each overlapping the one
 * before by about `chunkOverlapTokens` (OpenAI's `static` strategy; `auto` is 800 and 400). Cuts
 * fall between words. Tokens are counted by a `TokenCounter`: the embedding model's tokenizer
 * where one is given, else `approximateTokens`, about four characters a token (OpenAI's rule of
 * thumb for English; code and other scripts run denser, so chunks then hold fewer real tokens).
 */
import type { ChunkingSettings } from '../core/vector-store-store.js';

/** Tokens in a piece of text. */
export type TokenCounter = (text: string) => number;

/** OpenAI's `auto` chunking. */
export const autoChunking: ChunkingSettings = { maxChunkSizeTokens: 800, chunkOverlapTokens: 400 };

/** The documented approximation: a word and the space after it take ceil(characters / 4) tokens, at least 1. */
export const approximateTokens: TokenCounter = (text) => Math.max(1, Math.ceil(text.length / 4));

/** One chunk and its token count. */
export interface TextChunk {
  text: string;
  tokens: number;
}

/**
 * The chunks of `text`, in order; none for text with no words. With a real tokenizer (any counter
 * but `approximateTokens`) each chunk is counted whole and shortened until it fits, and its count
 * is the tokenizer's: words counted one by one do not add up to the text's count (a tokenizer
 * merges across spaces, or adds a marker a word alone does not need).
 */
export function chunkText(text: string, settings: ChunkingSettings, count: TokenCounter = approximateTokens): TextChunk[] {
  const exact = count !== approximateTokens;
  const limit = settings.maxChunkSizeTokens;
  const pieces = text.match(/\S+\s*/g) ?? [];
  const sizes = pieces.map((piece) => count(piece));
  const chunks: TextChunk[] = [];
  let start = 0;
  while (start < pieces.length) {
    let end = start;
    let tokens = 0;
    // At least one piece a chunk, even a piece longer than the limit (it is cut below).
    while (end < pieces.length && (end === start || tokens + sizes[end]! <= limit)) tokens += sizes[end++]!;
    if (exact) [end, tokens] = fitWhole(pieces, start, end, limit, count);
    const piece = pieces.slice(start, end).join('');
    if (tokens > limit && end === start + 1) chunks.push(...splitLong(piece, limit, count, exact));
    else chunks.push({ text: piece.trimEnd(), tokens });
    if (end >= pieces.length) break;
    // Step back from the end by about the overlap, but always forward from the last start.
    let overlap = 0;
    let next = end;
    while (next > start + 1 && overlap + sizes[next - 1]! <= settings.chunkOverlapTokens) overlap += sizes[--next]!;
    start = next;
  }
  return chunks;
}

/**
 * The most pieces from `start` whose joined text the tokenizer counts within `limit` (at least
 * one), and that count: from the word-by-word guess `end`, galloping up or bisecting down, so a
 * chunk costs the tokenizer a few whole counts rather than one per word.
 */
function fitWhole(pieces: readonly string[], start: number, end: number, limit: number, count: TokenCounter): [number, number] {
  const tokensTo = (stop: number): number => count(pieces.slice(start, stop).join('').trimEnd());
  let fits = start + 1;
  let fails = pieces.length + 1;
  if (tokensTo(end) <= limit) {
    fits = end;
    for (let step = 1; fits + step <= pieces.length; step *= 2) {
      if (tokensTo(fits + step) > limit) {
        fails = fits + step;
        break;
      }
      fits += step;
    }
    if (fails > pieces.length) fails = Math.min(fails, pieces.length + 1);
  } else fails = end;
  // Invariant: `fits` pieces fit (or it is the one piece a chunk always takes), `fails` do not.
  while (fails - fits > 1) {
    const middle = Math.floor((fits + fails) / 2);
    if (middle <= pieces.length && tokensTo(middle) <= limit) fits = middle;
    else fails = middle;
  }
  return [fits, tokensTo(fits)];
}

/** A single word longer than a chunk (a base64 blob, a URL), cut by characters; with a tokenizer, each cut as long as fits. */
function splitLong(piece: string, maxTokens: number, count: TokenCounter, exact: boolean): TextChunk[] {
  const out: TextChunk[] = [];
  for (let offset = 0; offset < piece.length;) {
    const width = exact ? longestFit(piece, offset, maxTokens, count) : Math.max(1, maxTokens * 4);
    const text = piece.slice(offset, offset + width).trimEnd();
    if (text) out.push({ text, tokens: exact ? count(text) : Math.min(maxTokens, count(text)) });
    offset += width;
  }
  return out;
}

/** The most characters from `offset` whose tokens fit (at least 1), by binary search on the length. */
function longestFit(piece: string, offset: number, maxTokens: number, count: TokenCounter): number {
  let low = 1;
  let high = piece.length - offset;
  if (count(piece.slice(offset)) <= maxTokens) return high;
  // Invariant: `low` characters fit (or low is 1), `high` do not.
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (count(piece.slice(offset, offset + middle)) <= maxTokens) low = middle;
    else high = middle;
  }
  return low;
}

/**
 * `settings` shrunk to what the embedding model takes in one input: a model with a shorter
 * context than the chunks asked for (OpenAI's `auto` is 800 tokens; many embedding models read
 * 512) would refuse every chunk and fail the file. The overlap keeps its share of the chunk. With
 * the model's own tokenizer the context is the bound; with the four-characters estimate a fifth is
 * kept back, since the estimate undercounts dense text. Unchanged when the context is unknown.
 */
export function fitChunkingToModel(settings: ChunkingSettings, contextTokens: number | undefined, exact: boolean): ChunkingSettings {
  if (contextTokens === undefined || contextTokens <= 0) return settings;
  const bound = Math.max(1, exact ? contextTokens : Math.floor(contextTokens * 0.8));
  if (settings.maxChunkSizeTokens <= bound) return settings;
  const overlap = Math.floor((settings.chunkOverlapTokens * bound) / settings.maxChunkSizeTokens);
  return { maxChunkSizeTokens: bound, chunkOverlapTokens: Math.min(overlap, Math.floor(bound / 2)) };
}
