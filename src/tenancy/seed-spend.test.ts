import { expect, test } from 'vitest';
import type { TenancyStore, UsageQuery, UsageRow } from '../core/tenancy-store.js';
import { MemoryLimitCounters } from './memory-limit-counters.js';
import { seedSpendCounters } from './seed-spend.js';

test("today's and this month's spend comes back from the ledger into counters that do not exist yet", async () => {
  const now = Date.parse('2025-03-04T05:06:07Z');
  const queries: UsageQuery[] = [];
  const rows: UsageRow[] = [
    {
      tenantId: 'acme',
      keyId: 'key_1',
      day: '2025-03-04',
      requests: 2,
      promptTokens: 10,
      cachedTokens: 0,
      completionTokens: 5,
      computeSeconds: 0,
      costNanoUsd: 100,
    },
    {
      tenantId: 'acme',
      keyId: 'key_1',
      day: '2025-03-01',
      requests: 1,
      promptTokens: 1000,
      cachedTokens: 0,
      completionTokens: 0,
      computeSeconds: 0,
      costNanoUsd: 7,
    },
    { tenantId: 'acme', keyId: null, day: '2025-03-04', requests: 1, promptTokens: 1, cachedTokens: 0, completionTokens: 1, computeSeconds: 0, costNanoUsd: 0 },
  ];
  const store = {
    usage: async (query: UsageQuery) => {
      queries.push(query);
      return rows;
    },
  } as unknown as TenancyStore;
  const counters = new MemoryLimitCounters();
  await counters.seed('{acme}:t:acme:tokensPerMonth:M2025-03', 5, now + 1e9);
  await seedSpendCounters(store, counters, { now: () => now, monotonic: () => 0 });
  expect(queries).toEqual([{ since: Date.parse('2025-03-01T00:00:00Z'), until: now + 1, groupBy: ['tenant', 'key', 'day'] }]);
  expect(
    await counters.read(
      [
        '{acme}:k:key_1:tokensPerDay:d2025-03-04',
        '{acme}:k:key_1:tokensPerMonth:M2025-03',
        '{acme}:k:key_1:costPerDayUsd:d2025-03-04',
        '{acme}:k:key_1:costPerMonthUsd:M2025-03',
        '{acme}:t:acme:tokensPerDay:d2025-03-04',
        '{acme}:t:acme:tokensPerMonth:M2025-03',
        '{acme}:t:acme:costPerMonthUsd:M2025-03',
      ],
      now,
    ),
  ).toEqual([15, 1015, 100, 107, 17, 5, 107]);
});
