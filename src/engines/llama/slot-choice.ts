/** Which free slot a prompt goes to: the one whose KV cache already holds most of it. */
import type { Token } from 'node-llama-cpp';
import { cachedPrefix } from './prompt-cache.js';

/**
 * How much of a slot's cache is worth steering a request to: a shared BOS token or two says
 * nothing, so a match counts only when it covers half the prompt or 64 tokens.
 */
export function reusablePrefix(held: readonly Token[], prompt: readonly Token[]): number {
  const length = cachedPrefix(held, prompt);
  return length > 1 && (length * 2 >= prompt.length || length >= 64) ? length : 0;
}

/**
 * Among free slots, the one holding the longest reusable prefix of the prompt; otherwise (and on
 * ties) the least recently used, so recent caches, likely to be asked for again, survive longest.
 */
export function longestPrefixSlot<S extends { sequence: { contextTokens: readonly Token[] } }>(free: readonly S[], prompt: readonly Token[]): S {
  let best = free[0]!;
  let bestLength = reusablePrefix(best.sequence.contextTokens, prompt);
  for (let index = 1; index < free.length; index += 1) {
    const length = reusablePrefix(free[index]!.sequence.contextTokens, prompt);
    if (length > bestLength) {
      best = free[index]!;
      bestLength = length;
    }
  }
  return best;
}
