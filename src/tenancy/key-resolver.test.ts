import { describe, expect, test } from 'vitest';
import { NimbusError } from '../core/errors.js';
import { localPrincipal } from '../core/principal.js';
import type { ApiKeyRecord, TenancyStore, Tenant } from '../core/tenancy-store.js';
import { generateApiKey } from './api-key.js';
import { anonymousPrincipal, KeyResolver } from './key-resolver.js';

/** Just enough of a TenancyStore, counting lookups so caching can be seen. */
function fakeStore() {
  const keys: ApiKeyRecord[] = [];
  const tenants = new Map<string, Tenant>([['default', { id: 'default', name: 'Default', limits: {}, createdAt: 0 }]]);
  const calls = { find: 0, count: 0, tenant: 0 };
  const store = {
    findApiKeyByHash: async (hash: string) => {
      calls.find += 1;
      const found = keys.find((key) => key.hash === hash);
      return found && { ...found };
    },
    countApiKeys: async () => {
      calls.count += 1;
      return keys.length;
    },
    getApiKey: async (id: string) => keys.find((key) => key.id === id),
    getTenant: async (id: string) => {
      calls.tenant += 1;
      return tenants.get(id);
    },
  } as unknown as TenancyStore;
  const addKey = (overrides: Partial<ApiKeyRecord> = {}) => {
    const generated = generateApiKey();
    const record: ApiKeyRecord = {
      id: `key_${keys.length}`,
      tenantId: 'acme',
      name: 'k',
      prefix: generated.prefix,
      hash: generated.hash,
      scopes: { inference: true, admin: false, models: '*', devices: [] },
      limits: { tokensPerDay: 100 },
      createdAt: 0,
      expiresAt: null,
      revokedAt: null,
      ...overrides,
    };
    keys.push(record);
    return { key: generated.key, record };
  };
  return { store, keys, tenants, calls, addKey };
}

function clock() {
  let now = 1_000_000;
  return { now: () => now, monotonic: () => now, advance: (ms: number) => (now += ms) };
}

/** The error a resolution fails with, whether it throws at once (cached) or rejects (looked up). */
async function rejection(resolve: () => unknown): Promise<NimbusError> {
  const error = await Promise.resolve()
    .then(resolve)
    .then(
      () => undefined,
      (failure: unknown) => failure,
    );
  expect(error).toBeInstanceOf(NimbusError);
  return error as NimbusError;
}

describe('key resolver', () => {
  test('loopback with no key: local mode, whatever the header says', async () => {
    const { store } = fakeStore();
    const resolver = new KeyResolver({ store, clock: clock(), localModeAllowed: true, cacheMs: 500 });
    expect(await resolver.resolve(undefined)).toBe(localPrincipal);
    expect(await resolver.resolve('Bearer whatever-the-client-sends')).toBe(localPrincipal);
    expect(await resolver.enforcing()).toBe(false);
  });

  test('off loopback, a key is needed even when none exists', async () => {
    const { store } = fakeStore();
    const resolver = new KeyResolver({ store, clock: clock(), localModeAllowed: false, cacheMs: 500 });
    const error = await rejection(() => resolver.resolve(undefined));
    expect([error.status, error.code]).toEqual([401, 'invalid_api_key']);
    expect(error.message).toContain("You didn't provide an API key");
  });

  test('once a key exists, local mode ends (after the cache, or at once after forget) and never comes back', async () => {
    const fake = fakeStore();
    const time = clock();
    const resolver = new KeyResolver({ store: fake.store, clock: time, localModeAllowed: true, cacheMs: 500 });
    expect(await resolver.resolve(undefined)).toBe(localPrincipal);
    const { key, record } = fake.addKey();
    expect(await resolver.resolve(undefined)).toBe(localPrincipal);
    time.advance(500);
    await rejection(() => resolver.resolve(undefined));
    expect((await resolver.resolve(`Bearer ${key}`)).keyId).toBe(record.id);
    fake.keys.splice(0);
    time.advance(10_000);
    expect(await resolver.enforcing()).toBe(true);
  });

  test('a valid key resolves to its tenant, key id and scopes, and its limits and its tenant limits are at hand', async () => {
    const fake = fakeStore();
    fake.tenants.set('acme', { id: 'acme', name: 'Acme', limits: { requestsPerMinute: 9 }, createdAt: 0 });
    const { key, record } = fake.addKey();
    const resolver = new KeyResolver({ store: fake.store, clock: clock(), localModeAllowed: false, cacheMs: 500 });
    const principal = await resolver.resolve(`Bearer ${key}`);
    expect(principal).toEqual({ tenantId: 'acme', keyId: record.id, scopes: record.scopes, local: false });
    expect(resolver.limitsOf(principal)).toEqual({ key: { tokensPerDay: 100 }, tenant: { requestsPerMinute: 9 } });
    expect(resolver.limitsOf(localPrincipal)).toEqual({ key: {}, tenant: {} });
  });

  test.each([
    ['a key of another format', 'Bearer sk-abcdef', 'Incorrect API key provided'],
    ['an unknown key', `Bearer ${generateApiKey().key}`, 'Incorrect API key provided'],
    ['no bearer', 'Basic abc', "You didn't provide an API key"],
  ])('%s is a 401 that says what to fix', async (_name, header, message) => {
    const fake = fakeStore();
    fake.addKey();
    const resolver = new KeyResolver({ store: fake.store, clock: clock(), localModeAllowed: true, cacheMs: 500 });
    const error = await rejection(() => resolver.resolve(header));
    expect(error.status).toBe(401);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain(header.slice(7));
  });

  test('work done for a key off a request (a batch) gets the key’s live principal and limits, or the 401 once it is revoked', async () => {
    const fake = fakeStore();
    fake.tenants.set('acme', { id: 'acme', name: 'Acme', limits: { tokensPerMonth: 7 }, createdAt: 0 });
    const { record } = fake.addKey();
    const time = clock();
    const resolver = new KeyResolver({ store: fake.store, clock: time, localModeAllowed: false, cacheMs: 500 });
    // The principal as saved with the batch is a copy: no limits are at hand for it (they would not apply).
    const saved = { tenantId: 'acme', keyId: record.id, scopes: record.scopes, local: false };
    expect(resolver.limitsOf(saved)).toEqual({ key: {}, tenant: {} });
    const live = await resolver.principalFor(saved);
    expect(live).toEqual(saved);
    expect(resolver.limitsOf(live)).toEqual({ key: { tokensPerDay: 100 }, tenant: { tokensPerMonth: 7 } });
    fake.keys[0]!.revokedAt = 5;
    time.advance(500);
    expect((await rejection(() => resolver.principalFor(saved))).status).toBe(401);
    expect((await rejection(() => resolver.principalFor({ ...saved, keyId: 'key_gone' }))).message).toContain('no longer exists');
    expect(await resolver.principalFor(localPrincipal)).toBe(localPrincipal);
  });

  test('revoked and expired keys are refused, naming the key id only', async () => {
    const fake = fakeStore();
    const revoked = fake.addKey({ revokedAt: 5 });
    const time = clock();
    const expiring = fake.addKey({ expiresAt: time.now() + 1000 });
    const resolver = new KeyResolver({ store: fake.store, clock: time, localModeAllowed: false, cacheMs: 500 });
    expect((await rejection(() => resolver.resolve(`Bearer ${revoked.key}`))).message).toBe('This API key (key_0) was revoked. Ask an admin for a new one.');
    await resolver.resolve(`Bearer ${expiring.key}`);
    time.advance(1000);
    const error = await rejection(() => resolver.resolve(`Bearer ${expiring.key}`));
    expect(error.message).toContain('expired at');
    expect(error.message).not.toContain(expiring.key);
  });

  test('lookups are cached for cacheMs: a revocation elsewhere applies within it, here at once via forget', async () => {
    const fake = fakeStore();
    const { key, record } = fake.addKey();
    const time = clock();
    const resolver = new KeyResolver({ store: fake.store, clock: time, localModeAllowed: false, cacheMs: 500 });
    await resolver.resolve(`Bearer ${key}`);
    await resolver.resolve(`Bearer ${key}`);
    expect(fake.calls.find).toBe(1);
    record.revokedAt = 1;
    await resolver.resolve(`Bearer ${key}`);
    time.advance(500);
    await rejection(() => resolver.resolve(`Bearer ${key}`));
    expect(fake.calls.find).toBe(2);
    record.revokedAt = null;
    const second = fake.addKey();
    await resolver.resolve(`Bearer ${second.key}`);
    second.record.revokedAt = 2;
    resolver.forget({ keyId: second.record.id });
    await rejection(() => resolver.resolve(`Bearer ${second.key}`));
  });

  test("a key's new limits apply to its next request after forget, even when a lookup was in flight during the change", async () => {
    const fake = fakeStore();
    const { key, record } = fake.addKey({ limits: { requestsPerMinute: 1 } });
    const resolver = new KeyResolver({ store: fake.store, clock: clock(), localModeAllowed: false, cacheMs: 60_000 });
    const before = await resolver.resolve(`Bearer ${key}`);
    expect(resolver.limitsOf(before).key).toEqual({ requestsPerMinute: 1 });
    record.limits = { requestsPerMinute: 5 };
    resolver.forget({ keyId: record.id });
    const after = await resolver.resolve(`Bearer ${key}`);
    expect(resolver.limitsOf(after).key).toEqual({ requestsPerMinute: 5 });
    // A lookup that read the old record while the change happened is not cached.
    const second = fake.addKey({ limits: { tokensPerDay: 1 } });
    const inFlight = resolver.resolve(`Bearer ${second.key}`);
    resolver.forget({ keyId: second.record.id });
    second.record.limits = { tokensPerDay: 2 };
    await inFlight;
    expect(resolver.limitsOf(await resolver.resolve(`Bearer ${second.key}`)).key).toEqual({ tokensPerDay: 2 });
  });

  test('concurrent lookups of one key hit the store once', async () => {
    const fake = fakeStore();
    const { key } = fake.addKey();
    const resolver = new KeyResolver({ store: fake.store, clock: clock(), localModeAllowed: false, cacheMs: 500 });
    await Promise.all(Array.from({ length: 50 }, () => Promise.resolve(resolver.resolve(`Bearer ${key}`))));
    expect(fake.calls.find).toBe(1);
  });

  test('health checks need no key, and get no rights', async () => {
    const fake = fakeStore();
    fake.addKey();
    const resolver = new KeyResolver({ store: fake.store, clock: clock(), localModeAllowed: true, cacheMs: 500 });
    expect(await resolver.resolve(undefined, true)).toBe(anonymousPrincipal);
    expect(anonymousPrincipal.scopes).toEqual({ inference: false, admin: false, models: [], devices: [] });
  });
});

test('past 10,000 cached keys the least recently used is evicted, not the whole cache: a key in use stays cached', async () => {
  const { store, calls, addKey } = fakeStore();
  const { key } = addKey({ tenantId: 'default' });
  const resolver = new KeyResolver({ store, clock: clock(), localModeAllowed: false, cacheMs: 60_000 });
  await resolver.resolve(`Bearer ${key}`);
  const lookups = calls.find;
  // A flood of unknown keys, with the real one used now and then: it must never be looked up again.
  for (let index = 0; index < 12_000; index += 1) {
    await rejection(() => resolver.resolve(`Bearer ${generateApiKey().key}`));
    if (index % 1000 === 0) void resolver.resolve(`Bearer ${key}`);
  }
  expect(calls.find).toBe(lookups + 12_000);
  expect(resolver.resolve(`Bearer ${key}`)).not.toBeInstanceOf(Promise);
});
