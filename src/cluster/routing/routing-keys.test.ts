import { describe, expect, test } from 'vitest';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import { maxPrefixKeys, prefixKeysOf, routingKeys } from './routing-keys.js';

const block = (letter: string) => letter.repeat(2048);

describe('prefixKeysOf', () => {
  test('prompts sharing whole leading blocks share those keys, and differ after', () => {
    const a = prefixKeysOf(block('s') + block('x') + block('y'));
    const b = prefixKeysOf(block('s') + block('x') + block('z'));
    expect(a).toHaveLength(3);
    expect(a.slice(0, 2)).toEqual(b.slice(0, 2));
    expect(a[2]).not.toBe(b[2]);
  });

  test('keys chain: the same block after a different prefix gets a different key', () => {
    const a = prefixKeysOf(block('s') + block('x'));
    const b = prefixKeysOf(block('t') + block('x'));
    expect(a[1]).not.toBe(b[1]);
  });

  test('at most maxBlocks keys; a short prompt gets one key of its whole text; empty gets none', () => {
    expect(prefixKeysOf(block('a').repeat(10))).toHaveLength(10);
    expect(prefixKeysOf(block('a').repeat(100))).toHaveLength(100);
    // 512 blocks (about 256k tokens) at most: a long prompt is matched whole (decision 0027).
    expect(maxPrefixKeys).toBe(512);
    expect(prefixKeysOf(block('a').repeat(600))).toHaveLength(512);
    expect(prefixKeysOf(block('a').repeat(10), 2)).toHaveLength(2);
    expect(prefixKeysOf('hello')).toHaveLength(1);
    expect(prefixKeysOf('hello')).not.toEqual(prefixKeysOf('hellp'));
    expect(prefixKeysOf('')).toEqual([]);
  });
});

describe('routingKeys', () => {
  const chat = (system: string, user: string, extra: Pick<ChatCompletionRequest, 'user'> = {}): ChatCompletionRequest => ({
    model: 'm',
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
    ...extra,
  });

  test('a long shared system prompt gives two chats the same first keys', () => {
    const system = block('p') + block('q');
    const a = routingKeys(chat(system, 'first question'));
    const b = routingKeys(chat(system, 'another question'));
    expect(a.prefixKeys![0]).toBe(b.prefixKeys![0]);
  });

  test('session: the header wins over the user field; neither means no session', () => {
    expect(routingKeys(chat('s', 'u', { user: 'alice' })).sessionKey).toBe('alice');
    expect(routingKeys(chat('s', 'u', { user: 'alice' }), 'tab-7').sessionKey).toBe('tab-7');
    expect(routingKeys(chat('s', 'u'))).not.toHaveProperty('sessionKey');
  });

  test('completions hash their prompt', () => {
    const keys = routingKeys({ model: 'm', prompt: 'Once upon a time' });
    expect(keys.prefixKeys).toEqual(prefixKeysOf('Once upon a time'));
    expect(keys.promptChars).toBe('Once upon a time'.length);
  });
});
