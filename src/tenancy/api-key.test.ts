import { describe, expect, test } from 'vitest';
import { apiKeyPrefix, bearerToken, generateApiKey, hashApiKey, hashesEqual, looksLikeApiKey } from './api-key.js';

describe('API keys', () => {
  test('a key is nmb_ and 32 random bytes, stored as its sha256, listed by a short prefix', () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^nmb_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(apiKeyPrefix.length), 'base64url')).toHaveLength(32);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(hashApiKey(key));
    expect(hash).not.toContain(key.slice(4, 12));
    expect(prefix).toBe(key.slice(0, 12));
  });

  test('keys never repeat', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey().key));
    expect(keys.size).toBe(1000);
  });

  test.each([
    ['a generated key', generateApiKey().key, true],
    ['an OpenAI key', `sk-${'a'.repeat(48)}`, false],
    ['a short nmb_ key', 'nmb_abc', false],
    ['a key with a space', `nmb_${'a'.repeat(42)} `, false],
    ['a key one character long', `nmb_${'a'.repeat(44)}`, false],
    ['the wrong prefix case', `NMB_${'a'.repeat(43)}`, false],
    ['empty', '', false],
  ])('looksLikeApiKey: %s', (_name, token, expected) => {
    expect(looksLikeApiKey(token)).toBe(expected);
  });

  test('hashes compare in constant time, and only equal ones match', () => {
    const hash = hashApiKey('nmb_x');
    expect(hashesEqual(hash, hashApiKey('nmb_x'))).toBe(true);
    expect(hashesEqual(hash, hashApiKey('nmb_y'))).toBe(false);
    expect(hashesEqual(hash, hash.slice(0, 62))).toBe(false);
    expect(hashesEqual('', '')).toBe(false);
  });

  test.each([
    [undefined, undefined],
    ['', undefined],
    ['Bearer nmb_abc', 'nmb_abc'],
    ['bearer nmb_abc', 'nmb_abc'],
    ['Bearer   nmb_abc  ', 'nmb_abc'],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    ['nmb_abc', undefined],
  ])('bearerToken(%j) is %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
