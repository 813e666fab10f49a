import { expect, test } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

test('a burst, then one token per refill interval, per device', () => {
  let now = 0;
  const limiter = new RateLimiter({ perMinute: 60, burst: 3 }, { monotonic: () => now });
  expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([true, true, true, false]);
  expect(limiter.take('b')).toBe(true);
  expect(limiter.waitMs('a')).toBe(1000);
  now = 500;
  expect(limiter.waitMs('a')).toBe(500);
  now = 1000;
  expect(limiter.waitMs('a')).toBe(0);
  expect(limiter.take('a')).toBe(true);
  expect(limiter.take('a')).toBe(false);
  now = 60_000;
  expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([true, true, true, false]);
});

test('waiting does not take a token', () => {
  const limiter = new RateLimiter({ perMinute: 1, burst: 1 }, { monotonic: () => 0 });
  expect(limiter.waitMs('a')).toBe(0);
  expect(limiter.waitMs('a')).toBe(0);
  expect(limiter.take('a')).toBe(true);
  expect(limiter.waitMs('a')).toBe(60_000);
});
