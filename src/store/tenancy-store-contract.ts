/**
 * The tenancy section of the Store contract: tenants, keys and sums over the ledger, run by
 * `runStoreContract` against every implementation.
 */
import { describe, expect, test } from 'vitest';
import type { ApiKeyRecord } from '../core/tenancy-store.js';
import type { Store } from '../core/store.js';
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
  });
}
