import { describe, expect, test } from 'vitest';
import { counterKey, hasLimits, limitsMeasure, planChecks } from './limit-plan.js';

const now = Date.parse('2025-03-04T05:06:07Z');
const base = { tenantId: 'acme', keyId: 'key_1', keyLimits: {}, tenantLimits: {}, demand: { tokens: 500, costNanoUsd: 7_000 }, now, leaseMs: 60_000 };

describe('limit plan', () => {
  test('no limits, no checks', () => {
    expect(planChecks(base)).toEqual([]);
    expect(hasLimits({})).toBe(false);
    expect(hasLimits({ tokensPerDay: 0 })).toBe(true);
  });

  test('key limits first, then tenant limits, each with its window, amount and unit', () => {
    const checks = planChecks({
      ...base,
      keyLimits: { requestsPerMinute: 60, costPerDayUsd: 1.25 },
      tenantLimits: { tokensPerMinute: 10_000, concurrentRequests: 4, tokensPerMonth: 1e6 },
    });
    expect(checks.map((check) => [check.key, check.kind, check.limit, check.amount, new Date(check.expiresAt).toISOString()])).toEqual([
      [`{acme}:k:key_1:requestsPerMinute:m${Math.floor(now / 60_000)}`, 'window', 60, 1, '2025-03-04T05:07:00.000Z'],
      ['{acme}:k:key_1:costPerDayUsd:d2025-03-04', 'window', 1_250_000_000, 7_000, '2025-03-05T00:00:00.000Z'],
      [`{acme}:t:acme:tokensPerMinute:m${Math.floor(now / 60_000)}`, 'window', 10_000, 500, '2025-03-04T05:07:00.000Z'],
      ['{acme}:t:acme:concurrentRequests', 'concurrency', 4, 1, '2025-03-04T05:07:07.000Z'],
      ['{acme}:t:acme:tokensPerMonth:M2025-03', 'window', 1e6, 500, '2025-04-01T00:00:00.000Z'],
    ]);
    expect(checks.map((check) => `${check.owner.scope}:${check.name}:${check.rule.code}`)).toEqual([
      'key:requestsPerMinute:rate_limit_exceeded',
      'key:costPerDayUsd:insufficient_quota',
      'tenant:tokensPerMinute:rate_limit_exceeded',
      'tenant:concurrentRequests:rate_limit_exceeded',
      'tenant:tokensPerMonth:insufficient_quota',
    ]);
  });

  test('local mode (no key) checks the tenant only', () => {
    const checks = planChecks({ ...base, keyId: null, keyLimits: { tokensPerDay: 5 }, tenantLimits: { tokensPerDay: 9 } });
    expect(checks.map((check) => check.key)).toEqual(['{acme}:t:acme:tokensPerDay:d2025-03-04']);
  });

  test('every counter of a request shares the tenant hash tag (one Redis slot)', () => {
    const checks = planChecks({ ...base, keyLimits: { tokensPerDay: 1, requestsPerMinute: 1 }, tenantLimits: { costPerMonthUsd: 1, concurrentRequests: 1 } });
    expect(new Set(checks.map((check) => check.key.slice(0, check.key.indexOf('}') + 1)))).toEqual(new Set(['{acme}']));
  });

  test('counter keys for seeding match the plan', () => {
    const [check] = planChecks({ ...base, keyLimits: { tokensPerDay: 10 } });
    expect(counterKey('acme', { scope: 'key', id: 'key_1' }, 'tokensPerDay', check!.window)).toBe(check!.key);
  });

  test('limitsMeasure tells whether a cost (or token) limit is set anywhere', () => {
    expect(limitsMeasure('cost', {}, { costPerMonthUsd: 3 })).toBe(true);
    expect(limitsMeasure('cost', { tokensPerDay: 3 }, {})).toBe(false);
    expect(limitsMeasure('tokens', { tokensPerMinute: 3 })).toBe(true);
  });
});
