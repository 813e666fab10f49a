import { describe, expect, test } from 'vitest';
import { backoffDelay, retryAfterMs } from './retry-policy.js';

const options = { maxAttempts: 5, backoffBaseMs: 100, backoffMaxMs: 1_000, maxRetryAfterMs: 5_000 };

describe('backoffDelay', () => {
  test('no wait before the first try', () => {
    expect(backoffDelay(1, options, () => 0.99)).toBe(0);
  });

  test('the ceiling doubles per try and stops at backoffMaxMs', () => {
    const ceilings = [2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, options, () => 0.999999));
    expect(ceilings).toEqual([99, 199, 399, 799, 999, 999]);
  });

  test('full jitter: anywhere from 0 to the ceiling', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(100);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  test('retry-after-ms wins, with sub-second precision', () => {
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
  });

  test('retry-after in seconds', () => {
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2_000);
    expect(retryAfterMs({ 'retry-after': '0.5' }, now)).toBe(500);
  });

  test('retry-after as an HTTP date, never negative', () => {
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now)).toBe(3_000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, now)).toBe(0);
  });

  test('absent or unreadable values give undefined', () => {
    expect(retryAfterMs({}, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '-3' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after-ms': 'x', 'retry-after': '1' }, now)).toBe(1_000);
  });
});
