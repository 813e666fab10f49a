/**
 * The tenancy section of the Store contract: tenants, keys and sums over the ledger, run by
 * `runStoreContract` against every implementation.
 */
import { describe, expect, test } from 'vitest';
import type { ApiKeyRecord, UsageDimension, UsageRow } from '../core/tenancy-store.js';
import type { RequestLogEntry, Store } from '../core/store.js';
import { requestLogEntry } from './store-contract.js';

/** A valid key record; tests override what they care about. */
export function apiKeyRecord(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const id = `key_${Math.random().toString(36).slice(2)}`;
  return {
    id,
    tenantId: 'default',
    name: 'test',
    prefix: 'nmb_AbCd1234',
    hash: `${id}`.padEnd(64, '0').slice(0, 64),
    scopes: { inference: true, admin: false, models: ['a', 'b'], devices: '*' },
    limits: { tokensPerDay: 1000, costPerMonthUsd: 2.5 },
    createdAt: 1_700_000_000_000,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

const day = 86_400_000;
const jan1 = Date.UTC(2025, 0, 1);

/** Registers the tenancy tests for one implementation. `open` returns a fresh, empty store. */
export function runTenancyStoreContract(open: () => Promise<Store>): void {
  describe('tenancy', () => {
    test('the default tenant exists from the start; tenants are created once, read, listed and updated', async () => {
      const store = await open();
      expect(await store.tenancy.getTenant('default')).toMatchObject({ id: 'default', limits: {} });
      const acme = { id: 'acme', name: 'Acme', limits: { requestsPerMinute: 60, costPerDayUsd: 1.5 }, createdAt: 1_700_000_000_123 };
      expect(await store.tenancy.createTenant(acme)).toBe(true);
      expect(await store.tenancy.createTenant({ ...acme, name: 'Other' })).toBe(false);
      expect(await store.tenancy.getTenant('acme')).toEqual(acme);
      expect(await store.tenancy.getTenant('nobody')).toBeUndefined();
      expect((await store.tenancy.listTenants()).map((tenant) => tenant.id)).toEqual(['acme', 'default']);
      expect(await store.tenancy.updateTenant('acme', { limits: { tokensPerMonth: 5 } })).toEqual({ ...acme, limits: { tokensPerMonth: 5 } });
      expect(await store.tenancy.updateTenant('acme', { name: 'Acme Inc' })).toMatchObject({ name: 'Acme Inc', limits: { tokensPerMonth: 5 } });
      expect(await store.tenancy.updateTenant('nobody', { name: 'x' })).toBeUndefined();
      await store.close();
    });

    test('an installation has one id, the same on every read, and another database has another', async () => {
      const [one, two] = [await open(), await open()];
      const id = await one.tenancy.installationId();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      expect(await one.tenancy.installationId()).toBe(id);
      expect(await two.tenancy.installationId()).not.toBe(id);
      await Promise.all([one.close(), two.close()]);
    });

    test('keys read back exactly, by id and by hash; listed per tenant; revoked once; counted with the revoked', async () => {
      const store = await open();
      expect(await store.tenancy.countApiKeys()).toBe(0);
      await store.tenancy.createTenant({ id: 'acme', name: 'Acme', limits: {}, createdAt: 1 });
      const first = apiKeyRecord({ expiresAt: 1_800_000_000_000 });
      const second = apiKeyRecord({ tenantId: 'acme', createdAt: first.createdAt + 1, scopes: { inference: false, admin: true, models: '*', devices: [] } });
      await store.tenancy.createApiKey(first);
      await store.tenancy.createApiKey(second);
      expect(await store.tenancy.getApiKey(first.id)).toEqual(first);
      expect(await store.tenancy.findApiKeyByHash(second.hash)).toEqual(second);
      expect(await store.tenancy.findApiKeyByHash('f'.repeat(64))).toBeUndefined();
      expect((await store.tenancy.listApiKeys()).map((key) => key.id)).toEqual([first.id, second.id]);
      expect((await store.tenancy.listApiKeys('acme')).map((key) => key.id)).toEqual([second.id]);
      expect(await store.tenancy.revokeApiKey(first.id, 5000)).toEqual({ ...first, revokedAt: 5000 });
      expect((await store.tenancy.revokeApiKey(first.id, 9000))?.revokedAt).toBe(5000);
      expect(await store.tenancy.revokeApiKey('key_nope', 1)).toBeUndefined();
      expect(await store.tenancy.countApiKeys()).toBe(2);
      await expect(store.tenancy.createApiKey(apiKeyRecord({ hash: first.hash }))).rejects.toThrow();
      await store.close();
    });

    test("a key's name and limits change, the rest stays; an unknown key is undefined", async () => {
      const store = await open();
      const key = apiKeyRecord({ limits: { requestsPerMinute: 60, tokensPerDay: 1000 } });
      await store.tenancy.createApiKey(key);
      const limited = await store.tenancy.updateApiKey(key.id, { limits: { requestsPerMinute: 5 } });
      expect(limited).toEqual({ ...key, limits: { requestsPerMinute: 5 } });
      expect(await store.tenancy.updateApiKey(key.id, { name: 'renamed' })).toEqual({ ...key, name: 'renamed', limits: { requestsPerMinute: 5 } });
      expect(await store.tenancy.updateApiKey(key.id, { limits: {} })).toMatchObject({ name: 'renamed', limits: {} });
      expect(await store.tenancy.findApiKeyByHash(key.hash)).toMatchObject({ id: key.id, limits: {} });
      expect(await store.tenancy.updateApiKey('key_nope', { name: 'x' })).toBeUndefined();
      await store.close();
    });

    test('ledger rows carry tenant, key, device class, compute-seconds and cost, and read back exactly', async () => {
      const store = await open();
      const entry = requestLogEntry({
        tenantId: 'acme',
        keyId: 'key_1',
        deployment: 'dep-1',
        worker: 'w1',
        deviceClass: 'cuda',
        computeSeconds: 1.234567,
        costNanoUsd: 9_007_199_254,
      });
      store.recordRequest(entry);
      store.recordRequest(requestLogEntry({ id: 'other', tenantId: 'default', createdAt: entry.createdAt + 1 }));
      await store.flush();
      expect(await store.listRequests({ tenantId: 'acme' })).toEqual([entry]);
      expect((await store.listRequests({ keyId: 'key_1' })).map((row) => row.id)).toEqual([entry.id]);
      await store.close();
    });

    test('usage sums the ledger over a range, grouped by any dimensions, filtered by tenant and key', async () => {
      const store = await open();
      const rows = [
        { tenantId: 'a', keyId: 'k1', model: 'm1', createdAt: jan1 + 10, deviceClass: 'cpu', costNanoUsd: 100, computeSeconds: 0.5 },
        { tenantId: 'a', keyId: 'k1', model: 'm2', createdAt: jan1 + day + 5, deviceClass: null, costNanoUsd: 200, computeSeconds: 0 },
        { tenantId: 'a', keyId: 'k2', model: 'm1', createdAt: jan1 + day + 6, deviceClass: 'cpu', costNanoUsd: 300, computeSeconds: 1.5 },
        { tenantId: 'b', keyId: 'k3', model: 'm1', createdAt: jan1 + 20, deviceClass: 'cuda', costNanoUsd: 400, computeSeconds: 2 },
        { tenantId: 'a', keyId: 'k1', model: 'm1', createdAt: jan1 + 3 * day, deviceClass: 'cpu', costNanoUsd: 1000, computeSeconds: 9 },
      ];
      for (const [index, row] of rows.entries())
        store.recordRequest(requestLogEntry({ id: `u${index}`, promptTokens: 10, cachedTokens: 2, completionTokens: 5, ...row }));
      await store.flush();
      const range = { since: jan1, until: jan1 + 2 * day };
      expect(await store.tenancy.usage({ ...range, groupBy: [] })).toEqual([
        { requests: 4, promptTokens: 40, cachedTokens: 8, completionTokens: 20, computeSeconds: 4, costNanoUsd: 1000 },
      ]);
      const byModelDay = await store.tenancy.usage({ ...range, tenantId: 'a', groupBy: ['model', 'day'] });
      expect(byModelDay.map((row) => [row.model, row.day, row.requests, row.costNanoUsd])).toEqual([
        ['m1', '2025-01-01', 1, 100],
        ['m1', '2025-01-02', 1, 300],
        ['m2', '2025-01-02', 1, 200],
      ]);
      const byKey = await store.tenancy.usage({ ...range, groupBy: ['tenant', 'key'] });
      expect(byKey.map((row) => [row.tenantId, row.keyId, row.requests])).toEqual([
        ['a', 'k1', 2],
        ['a', 'k2', 1],
        ['b', 'k3', 1],
      ]);
      const byDevice = await store.tenancy.usage({ ...range, tenantId: 'a', keyId: 'k1', groupBy: ['device_class'] });
      expect(byDevice.map((row) => [row.deviceClass, row.requests])).toEqual(
        expect.arrayContaining([
          [null, 1],
          ['cpu', 1],
        ]),
      );
      expect(await store.tenancy.usage({ since: 0, until: 1, groupBy: ['model'] })).toEqual([]);
      await store.close();
    });

    test('usage sums whole hours from the hourly rollups and the partial hours from the rows: the same answer as the rows, for any range', async () => {
      const store = await open();
      const rows = ledgerOverHours(240);
      for (const row of rows) store.recordRequest(row);
      // The same id again: skipped by the ledger, and not summed twice.
      store.recordRequest({ ...rows[0]!, completionTokens: 999_999 });
      await store.flush();
      const ranges = [
        [jan1, jan1 + 6 * hour],
        [jan1 + 1234, jan1 + 5 * hour - 77],
        [jan1 + hour + 5, jan1 + hour + 900_000],
        [jan1 - hour, jan1 + 2 * hour],
      ] as const;
      const groupings: UsageDimension[][] = [[], ['tenant', 'key'], ['model', 'status', 'device_class'], ['day', 'tenant'], ['key'], ['hour', 'model']];
      for (const [since, until] of ranges) {
        for (const groupBy of groupings) {
          for (const filter of [{}, { tenantId: 'a' }, { tenantId: 'a', keyId: 'k1' }]) {
            const read = await store.tenancy.usage({ since, until, groupBy, ...filter });
            expect(sorted(read), JSON.stringify({ since, until, groupBy, filter })).toEqual(sorted(sumRows(rows, since, until, groupBy, filter)));
          }
        }
      }
      await store.close();
    });

    test('pruning the ledger removes raw rows before a time and keeps their sums: usage over those hours still answers', async () => {
      const store = await open();
      const rows = ledgerOverHours(160);
      for (const row of rows) store.recordRequest(row);
      await store.flush();
      const whole = { since: jan1, until: jan1 + 4 * hour, groupBy: ['model', 'status'] as UsageDimension[] };
      const before = await store.tenancy.usage(whole);
      const cut = jan1 + 2 * hour;
      expect(await store.pruneLedger(cut)).toBe(rows.filter((row) => row.createdAt < cut).length);
      const left = await store.listRequests({ limit: 10_000 });
      expect(left.length).toBe(rows.filter((row) => row.createdAt >= cut).length);
      expect(left.every((row) => row.createdAt >= cut)).toBe(true);
      expect(sorted(await store.tenancy.usage(whole))).toEqual(sorted(before));
      // A range that starts inside a pruned hour is answered for that whole hour.
      const inside = await store.tenancy.usage({ since: jan1 + hour + 60_000, until: jan1 + 3 * hour, groupBy: [] });
      expect(inside).toEqual(sumRows(rows, jan1 + hour, jan1 + 3 * hour, [], {}));
      await store.close();
    });
  });
}

const hour = 3_600_000;

/** Rows every 90 s or so from Jan 1st, in groups of every kind: tenants, keys (some none), models, statuses, device classes. */
function ledgerOverHours(count: number): RequestLogEntry[] {
  return Array.from({ length: count }, (_, index) =>
    requestLogEntry({
      id: `h${index}`,
      createdAt: jan1 + index * 90_000 + (index % 7) * 1000,
      tenantId: index % 3 ? 'a' : 'b',
      keyId: index % 5 ? `k${index % 4}` : null,
      model: index % 2 ? 'm1' : 'm2',
      status: index % 11 ? 'ok' : 'refused',
      deviceClass: index % 4 ? 'cpu' : null,
      promptTokens: index,
      completionTokens: 2 * index,
      cachedTokens: index % 3,
      computeSeconds: index / 8,
      costNanoUsd: 1000 + index,
    }),
  );
}

/** What usage must answer, summed from the rows themselves. */
function sumRows(
  rows: readonly RequestLogEntry[],
  since: number,
  until: number,
  groupBy: readonly UsageDimension[],
  filter: { tenantId?: string; keyId?: string },
): UsageRow[] {
  const groups = new Map<string, UsageRow>();
  for (const row of rows) {
    if (row.createdAt < since || row.createdAt >= until) continue;
    if (filter.tenantId !== undefined && row.tenantId !== filter.tenantId) continue;
    if (filter.keyId !== undefined && row.keyId !== filter.keyId) continue;
    const dimensions: Partial<UsageRow> = {};
    for (const dimension of groupBy) {
      if (dimension === 'tenant') dimensions.tenantId = row.tenantId;
      if (dimension === 'key') dimensions.keyId = row.keyId;
      if (dimension === 'model') dimensions.model = row.model;
      if (dimension === 'day') dimensions.day = new Date(row.createdAt).toISOString().slice(0, 10);
      if (dimension === 'hour') dimensions.hour = `${new Date(row.createdAt).toISOString().slice(0, 13)}:00Z`;
      if (dimension === 'device_class') dimensions.deviceClass = row.deviceClass;
      if (dimension === 'status') dimensions.status = row.status;
    }
    const key = JSON.stringify(dimensions);
    const group = groups.get(key) ?? { ...dimensions, requests: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, computeSeconds: 0, costNanoUsd: 0 };
    group.requests += 1;
    group.promptTokens += row.promptTokens;
    group.cachedTokens += row.cachedTokens;
    group.completionTokens += row.completionTokens;
    group.computeSeconds += row.computeSeconds;
    group.costNanoUsd += row.costNanoUsd;
    groups.set(key, group);
  }
  if (groupBy.length === 0 && groups.size === 0)
    return [{ requests: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, computeSeconds: 0, costNanoUsd: 0 }];
  return [...groups.values()];
}

/** Groups in one order, whatever order a store returned them in. */
function sorted(rows: readonly UsageRow[]): UsageRow[] {
  const key = (row: UsageRow): string => JSON.stringify([row.tenantId, row.keyId, row.model, row.day, row.deviceClass, row.status]);
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
