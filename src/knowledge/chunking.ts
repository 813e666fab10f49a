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

/** The chunks of `text`, in order; none for text with no words. */
export function chunkText(text: string, settings: ChunkingSettings, count: TokenCounter = approximateTokens): TextChunk[] {
  const pieces = text.match(/\S+\s*/g) ?? [];
  const sizes = pieces.map((piece) => count(piece));
  const chunks: TextChunk[] = [];
  let start = 0;
  while (start < pieces.length) {
    let end = start;
    let tokens = 0;
    // At least one piece a chunk, even a piece longer than the limit (it is cut below).
    while (end < pieces.length && (end === start || tokens + sizes[end]! <= settings.maxChunkSizeTokens)) tokens += sizes[end++]!;
    const piece = pieces.slice(start, end).join('');
    if (tokens > settings.maxChunkSizeTokens && end === start + 1) chunks.push(...splitLong(piece, settings.maxChunkSizeTokens, count));
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

/** A single word longer than a chunk (a base64 blob, a URL), cut by characters. */
function splitLong(piece: string, maxTokens: number, count: TokenCounter): TextChunk[] {
  const out: TextChunk[] = [];
  const width = Math.max(1, maxTokens * 4);
  for (let offset = 0; offset < piece.length; offset += width) {
    const text = piece.slice(offset, offset + width).trimEnd();
    if (text) out.push({ text, tokens: Math.min(maxTokens, count(text)) });
  }
  return out;
}
