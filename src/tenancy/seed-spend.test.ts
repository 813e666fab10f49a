import { expect, test } from 'vitest';
import type { TenancyStore, UsageQuery, UsageRow } from '../core/tenancy-store.js';
import { ledgerSpendOf } from './seed-spend.js';

test("an owner's spend today and this month, from one ledger query over the month grouped by day", async () => {
  const now = Date.parse('2025-03-04T05:06:07Z');
  const queries: UsageQuery[] = [];
  const row = (day: string, promptTokens: number, completionTokens: number, costNanoUsd: number): UsageRow => ({
    day,
    requests: 1,
    promptTokens,
    cachedTokens: 0,
    completionTokens,
    computeSeconds: 0,
    costNanoUsd,
  });
  const store = {
    usage: async (query: UsageQuery) => {
      queries.push(query);
      return [row('2025-03-04', 10, 5, 100), row('2025-03-01', 1000, 0, 7)];
    },
  } as unknown as TenancyStore;
  const spendOf = ledgerSpendOf(store);
  expect(await spendOf('acme', { scope: 'key', id: 'key_1' }, now)).toEqual({
    day: { tokens: 15, costNanoUsd: 100 },
    month: { tokens: 1015, costNanoUsd: 107 },
  });
  await spendOf('acme', { scope: 'tenant', id: 'acme' }, now);
  expect(queries).toEqual([
    { since: Date.parse('2025-03-01T00:00:00Z'), until: now + 1, tenantId: 'acme', keyId: 'key_1', groupBy: ['day'] },
    { since: Date.parse('2025-03-01T00:00:00Z'), until: now + 1, tenantId: 'acme', groupBy: ['day'] },
  ]);
});
