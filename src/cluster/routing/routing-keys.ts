/**
 * The routing fields of a request, from its OpenAI body: prefix keys for cache-aware routing
 * and a session key for affinity. Prefix keys chain: block i's key hashes every character up to
 * the end of block i, so two prompts share key i exactly when they share that whole prefix
 * (as vLLM's block hashes do). Blocks are counted in characters, not tokens, so the router needs
 * no tokenizer: 2,048 characters are roughly 512 tokens of English.
 */
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { RoutingRequest } from '../../core/replica-router.js';
import { hash32 } from './hash-ring.js';

/** Characters per prefix block, about 512 tokens. */
export const prefixBlockChars = 2048;

/**
 * Prefix keys per prompt at most: 512 blocks, about 256k tokens (a long-context model's whole
 * prompt). prefix-cache hashes its ring on the first two; estimated-ttft matches them all against
 * what each replica holds. Hashing is linear in the characters kept (a 128k-character prompt in
 * about a tenth of a millisecond). It was 64 (32k tokens): a replica holding a longer prompt whole
 * was credited with its first 32k tokens only, so estimated-ttft saw the rest as uncached, sent
 * such prompts where they were not held and overestimated the queues behind them (16% of
 * Mooncake's requests run past 64 blocks, up to 374; decision 0027).
 */
export const maxPrefixKeys = 512;

/** Keys of the first `maxBlocks` whole blocks of `text` (a final partial block counts when it is the only one). */
export function prefixKeysOf(text: string, maxBlocks = maxPrefixKeys, blockChars = prefixBlockChars): string[] {
  const keys: string[] = [];
  let chained = 0;
  const whole = Math.min(maxBlocks, Math.floor(text.length / blockChars));
  for (let block = 0; block < whole; block += 1) {
    chained = hash32(`${chained.toString(36)}:${text.slice(block * blockChars, (block + 1) * blockChars)}`);
    keys.push(chained.toString(36));
  }
  if (keys.length === 0 && text.length > 0) keys.push(hash32(`0:${text}`).toString(36));
  return keys;
}

/** The prompt as the router sees it: roles and text of every message, in order. */
function promptText(request: ChatCompletionRequest | (CompletionRequest & { prompt: string })): string {
  if ('messages' in request) {
    return request.messages
      .map((message) => `${message.role}\u0000${typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '')}\u0001`)
      .join('');
  }
  return request.prompt;
}

/**
 * Routing fields for a chat or completion request: prefix keys and length of the prompt, the session from
 * `sessionHeader` (a client's `x-session-id`) or else the `user` field.
 */
export function routingKeys(
  request: ChatCompletionRequest | (CompletionRequest & { prompt: string }),
  sessionHeader?: string,
  blockChars = prefixBlockChars,
): Pick<RoutingRequest, 'prefixKeys' | 'sessionKey' | 'promptChars'> {
  const sessionKey = sessionHeader || request.user || undefined;
  const text = promptText(request);
  return { prefixKeys: prefixKeysOf(text, maxPrefixKeys, blockChars), promptChars: text.length, ...(sessionKey ? { sessionKey } : {}) };
}
