import { describe, expect, test } from 'vitest';
import { mayCarryAccounting } from './stream-account.js';

describe('mayCarryAccounting: which events are parsed once tokens flow', () => {
  test.each([
    ['{"choices":[{"delta":{"content":"hi"},"finish_reason":null}],"usage":null}', false],
    ['{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}', false],
    ['{"choices":[{"delta":{},"finish_reason":"stop"}]}', true],
    ['{"choices": [{"delta": {}, "finish_reason": "length"}]}', true],
    ['{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}', true],
    ['{"choices": [], "usage": {"prompt_tokens": 1}}', true],
    ['{"error":{"message":"boom"}}', true],
    // A token whose text mentions the keys is escaped inside a string: not a field.
    ['{"choices":[{"delta":{"content":"\\"usage\\": {} and \\"finish_reason\\": \\"stop\\""},"finish_reason":null}]}', false],
  ])('%s -> %s', (payload, expected) => {
    expect(mayCarryAccounting(payload)).toBe(expected);
  });
});
