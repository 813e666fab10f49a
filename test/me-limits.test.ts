/**
 * `GET /v1/me/limits` predicts admission exactly: keys are driven with requests until admission
 * refuses one, and before each request the read API's `remaining` says whether it fits (every
 * limit's remaining at least the request's amount). Each loop's binding limit is a different
 * one: a tenant's cost per day, a key's tokens per day, a key's requests per minute. The refusal
 * names the same `used` the read showed. A real server (stories260K, SQLite), counters in process.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
const prompt = 'Once upon a time';
const maxTokens = 8;

interface Standing {
  scope: 'key' | 'tenant';
  owner: string;
  name: string;
  window: string | null;
  unit: 'requests' | 'tokens' | 'usd' | 'concurrent';
  limit: number;
  used: number;
  remaining: number;
  resets_at: number | null;
}

/** What one request of this test asks of a limit, as admission reserves it: prompt bytes + 64 + max_tokens; output at $1 per million. */
function demand(standing: Standing): number {
  switch (standing.unit) {
    case 'tokens':
      return Buffer.byteLength(prompt) + 64 + maxTokens;
    case 'usd':
      return (maxTokens * 1000) / 1e9;
    case 'requests':
    case 'concurrent':
      return 1;
  }
}

describe.skipIf(skip)('GET /v1/me/limits', () => {
  let server: TestServer;
  let operator: string;
  const call = (options: InjectOptions & { key?: string }) => {
    const { key, ...rest } = options;
    return server.nimbus.app.inject({ ...rest, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...rest.headers } });
  };
  const createKey = async (body: Record<string, unknown>): Promise<{ id: string; key: string }> => {
    const response = await call({ method: 'POST', url: '/v1/keys', key: operator, payload: body });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  };
  const limitsOf = async (key: string): Promise<Standing[]> => {
    const response = await call({ method: 'GET', url: '/v1/me/limits', key });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data;
  };

  /** Requests until one is refused; before each, the read must predict it. Resolves to the limit that refused and how many were served. */
  async function driveUntilRefused(key: string, read = () => limitsOf(key)): Promise<{ served: number; refusedBy: Standing }> {
    for (let served = 0; served < 60; served += 1) {
      const standings = await read();
      const short = standings.find((standing) => standing.remaining < demand(standing));
      const response = await call({
        method: 'POST',
        url: '/v1/completions',
        key,
        payload: { model: 'stories', prompt, max_tokens: maxTokens, temperature: 0 },
      });
      if (!short) {
        expect(response.statusCode, `admission refused what the read said fits: ${response.body} after ${JSON.stringify(standings)}`).toBe(200);
        continue;
      }
      expect(response.statusCode, `admission served what the read said does not fit (${short.name} of ${short.scope} ${short.owner})`).toBe(429);
      const message: string = response.json().error.message;
      expect(message).toContain(`${short.scope} '${short.owner}'`);
      const used = short.unit === 'usd' ? `$${short.used.toFixed(6)}` : String(short.used);
      if (short.unit !== 'concurrent' && demand(short) <= short.limit) expect(message).toContain(`used ${used}`);
      return { served, refusedBy: short };
    }
    throw new Error('admission never refused');
  }

  beforeAll(async () => {
    server = await startTestServer({ prices: { stories: { input: 0, output: 1 } } });
    await call({ method: 'POST', url: '/v1/tenants', payload: { id: 'acme', limits: { cost_per_day_usd: 0.00006, tokens_per_month: 1_000_000 } } });
    await call({ method: 'POST', url: '/v1/tenants', payload: { id: 'beta' } });
    operator = (await call({ method: 'POST', url: '/v1/keys', payload: { name: 'operator', scopes: { admin: true } } })).json().key;
  });
  afterAll(async () => server?.stop());

  test('every limit of key and tenant, with what is used, left and when it resets', async () => {
    const key = await createKey({
      tenant: 'acme',
      name: 'all',
      limits: { requests_per_minute: 100, tokens_per_minute: 10_000, concurrent_requests: 2, tokens_per_day: 5000 },
    });
    const before = await limitsOf(key.key);
    expect(before.map((standing) => `${standing.scope}:${standing.name}`)).toEqual([
      'key:requests_per_minute',
      'key:tokens_per_minute',
      'key:concurrent_requests',
      'key:tokens_per_day',
      'tenant:tokens_per_month',
      'tenant:cost_per_day_usd',
    ]);
    const now = Date.now() / 1000;
    for (const standing of before) {
      expect(standing.remaining).toBe(standing.limit - standing.used);
      if (standing.window === null) expect(standing.resets_at).toBeNull();
      else expect(standing.resets_at).toBeGreaterThan(now);
    }
    expect(
      (await call({ method: 'POST', url: '/v1/completions', key: key.key, payload: { model: 'stories', prompt, max_tokens: maxTokens } })).statusCode,
    ).toBe(200);
    const after = await limitsOf(key.key);
    expect(after.find((standing) => standing.name === 'requests_per_minute')!.used).toBe(1);
    expect(after.find((standing) => standing.name === 'concurrent_requests')!.used).toBe(0);
    const tokens = after.find((standing) => standing.name === 'tokens_per_day')!.used;
    expect(tokens).toBeGreaterThan(0);
    expect(tokens).toBeLessThanOrEqual(Buffer.byteLength(prompt) + 64 + maxTokens);
    const response = await call({ method: 'GET', url: '/v1/me/limits', key: key.key });
    expect(response.json()).toMatchObject({ object: 'limits', tenant: 'acme', key: key.id, app: null });
  });

  test("a tenant's cost per day: the read predicts every admission up to the refusal", async () => {
    const key = await createKey({ tenant: 'acme', name: 'cost' });
    const { served, refusedBy } = await driveUntilRefused(key.key);
    expect(refusedBy).toMatchObject({ scope: 'tenant', name: 'cost_per_day_usd' });
    expect(served).toBeGreaterThan(0);
  });

  test("a key's tokens per day: the read predicts every admission up to the refusal", async () => {
    const key = await createKey({ tenant: 'beta', name: 'tokens', limits: { tokens_per_day: 300 } });
    const { served, refusedBy } = await driveUntilRefused(key.key);
    expect(refusedBy).toMatchObject({ scope: 'key', name: 'tokens_per_day' });
    expect(served).toBeGreaterThan(2);
  });

  test("a key's requests per minute: the read predicts every admission up to the refusal", async () => {
    // The minute must not end between a read and its request.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
    const key = await createKey({ tenant: 'beta', name: 'rpm', limits: { requests_per_minute: 3 } });
    const { served, refusedBy } = await driveUntilRefused(key.key);
    expect(refusedBy).toMatchObject({ scope: 'key', name: 'requests_per_minute', used: 3, remaining: 0 });
    expect(served).toBe(3);
  });

  test("an app's own limits (?app=NAME): the read predicts its calls' admission up to the refusal", async () => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
    const created = await call({
      method: 'POST',
      url: '/v1/apps',
      key: operator,
      payload: { name: 'metered', model: 'stories', max_output_tokens: 4, limits: { requests_per_minute: 2 } },
    });
    expect(created.statusCode, created.body).toBe(201);
    let refusedAfter = -1;
    for (let served = 0; served < 5 && refusedAfter < 0; served += 1) {
      const read = await call({ method: 'GET', url: '/v1/me/limits?app=metered', key: operator });
      expect(read.json()).toMatchObject({ app: 'metered' });
      const standing = (read.json().data as Standing[]).find((entry) => entry.scope === ('app' as Standing['scope']))!;
      expect(standing).toMatchObject({ owner: 'metered', name: 'requests_per_minute', limit: 2, used: served });
      const answer = await call({ method: 'POST', url: '/v1/apps/metered/responses', key: operator, payload: { input: 'hi' } });
      if (standing.remaining >= 1) {
        expect(answer.statusCode, answer.body).toBe(200);
        continue;
      }
      expect(answer.statusCode).toBe(429);
      expect(answer.json().error.message).toContain("app 'metered'");
      refusedAfter = served;
    }
    expect(refusedAfter).toBe(2);
    expect((await call({ method: 'GET', url: '/v1/me/limits?app=nope', key: operator })).statusCode).toBe(404);
  });

  test("GET /v1/tenants/{id}/limits: the operator reads another tenant's budget, and it predicts that tenant's admission", async () => {
    // A tenant no request has touched yet: the read loads its limits as its first request would.
    await call({ method: 'POST', url: '/v1/tenants', key: operator, payload: { id: 'gamma', limits: { cost_per_day_usd: 0.00004 } } });
    const tenantLimits = async (): Promise<Standing[]> => {
      const response = await call({ method: 'GET', url: '/v1/tenants/gamma/limits', key: operator });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ object: 'limits', tenant: 'gamma', key: null, app: null });
      return response.json().data;
    };
    expect(await tenantLimits()).toEqual([expect.objectContaining({ scope: 'tenant', owner: 'gamma', name: 'cost_per_day_usd', limit: 0.00004, used: 0 })]);
    const key = await createKey({ tenant: 'gamma', name: 'spender' });
    const { served, refusedBy } = await driveUntilRefused(key.key, tenantLimits);
    expect(refusedBy).toMatchObject({ scope: 'tenant', name: 'cost_per_day_usd' });
    expect(served).toBeGreaterThan(0);
    // What the tenant's own key reads of its tenant is the same standing.
    expect((await limitsOf(key.key)).find((standing) => standing.scope === 'tenant')).toEqual((await tenantLimits())[0]);
    // A tenant's admin reads its own tenant's, and another's is as absent as one that does not exist.
    const betaAdmin = await createKey({ tenant: 'beta', name: 'beta admin', scopes: { admin: true } });
    expect((await call({ method: 'GET', url: '/v1/tenants/beta/limits', key: betaAdmin.key })).json()).toMatchObject({ tenant: 'beta', data: [] });
    expect((await call({ method: 'GET', url: '/v1/tenants/gamma/limits', key: betaAdmin.key })).statusCode).toBe(404);
    expect((await call({ method: 'GET', url: '/v1/tenants/nope/limits', key: operator })).statusCode).toBe(404);
    expect((await call({ method: 'GET', url: '/v1/tenants/gamma/limits', key: key.key })).statusCode).toBe(403);
  });

  test('a key with no limits, in a tenant with none, has none to show', async () => {
    const key = await createKey({ tenant: 'beta', name: 'free' });
    expect(await limitsOf(key.key)).toEqual([]);
  });
});
