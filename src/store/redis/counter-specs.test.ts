import { expect, test } from 'vitest';
import type { CounterCheck } from '../../core/limit-counters.js';
import { CounterSpecs, integer, tagOf } from './counter-specs.js';

const checks = (limit = 100, dayEnd = 1_000_000): CounterCheck[] => [
  { key: '{acme}:k:key_1:requestsPerMinute:m1', kind: 'window', limit: 60, amount: 1, expiresAt: 60_000 },
  { key: '{acme}:k:key_1:concurrentRequests', kind: 'concurrency', limit: 4, amount: 1, expiresAt: 3_600_123 },
  { key: '{acme}:t:acme:tokensPerDay:d2025-03-04', kind: 'window', limit, amount: 171, expiresAt: dayEnd, seed: true },
];

test('a reservation spec names every counter under the namespace and packs kinds, limits and window ends; a lease expiry is not in it', () => {
  const spec = new CounterSpecs('nimbus:inst:').reserve(checks());
  expect(spec.tag).toBe('{acme}');
  expect(spec.keys).toEqual([
    'nimbus:inst:{acme}:k:key_1:requestsPerMinute:m1',
    'nimbus:inst:{acme}:k:key_1:concurrentRequests',
    'nimbus:inst:{acme}:t:acme:tokensPerDay:d2025-03-04',
  ]);
  expect(spec.packed).toBe('w,60,60000;c,4,0;s,100,1000000;');
});

test('the same counters and limits reuse the spec whatever the amounts and lease expiries; a changed limit, kind or window end builds another', () => {
  const specs = new CounterSpecs('');
  const first = specs.reserve(checks());
  const again = checks().map((check) => ({ ...check, amount: check.amount * 3, expiresAt: check.kind === 'concurrency' ? 9_999_999 : check.expiresAt }));
  expect(specs.reserve(again)).toBe(first);
  expect(specs.reserve(checks(200)).packed).toBe('w,60,60000;c,4,0;s,200,1000000;');
  expect(specs.reserve(checks(200, 2_000_000)).packed).toBe('w,60,60000;c,4,0;s,200,2000000;');
  const unseeded = checks().map((check) => ({ ...check, seed: false }));
  expect(specs.reserve(unseeded).packed).toBe('w,60,60000;c,4,0;w,100,1000000;');
  expect(specs.reserve(checks().slice(0, 2)).packed).toBe('w,60,60000;c,4,0;');
});

test('a settlement spec lists window counters, then concurrency counters, and is reused for the same ones', () => {
  const specs = new CounterSpecs('ns:');
  const adjustments = [
    { key: '{acme}:k:key_1:requestsPerMinute:m1', delta: 0, used: 1 },
    { key: '{acme}:t:acme:tokensPerDay:d2025-03-04', delta: -5, used: 7 },
  ];
  const spec = specs.settle(adjustments, ['{acme}:k:key_1:concurrentRequests']);
  expect(spec).toMatchObject({
    tag: '{acme}',
    windows: 2,
    keys: ['ns:{acme}:k:key_1:requestsPerMinute:m1', 'ns:{acme}:t:acme:tokensPerDay:d2025-03-04', 'ns:{acme}:k:key_1:concurrentRequests'],
  });
  expect(specs.settle([{ ...adjustments[0]!, delta: 3 }, adjustments[1]!], ['{acme}:k:key_1:concurrentRequests'])).toBe(spec);
  expect(specs.settle(adjustments, []).keys).toHaveLength(2);
});

test('whole numbers as Redis reads them, and the hash tag of a name', () => {
  expect([integer(5_000_000_000_123), integer(-30), integer(2.5), integer(0)]).toEqual(['5000000000123', '-30', '3', '0']);
  expect([tagOf('{acme}:k:key_1:x'), tagOf('plain')]).toEqual(['{acme}', '']);
});
