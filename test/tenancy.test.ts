/**
 * Tenants, keys, limits and the ledger through the HTTP API of one server (real model, real
 * SQLite): local mode ends with the first key; every refusal is OpenAI's shape; tenants never see
 * each other; a budget under 200 concurrent requests admits exactly what it allows; a client
 * that leaves mid-stream is still in the ledger.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { keysCommand } from '../src/cli/keys.js';
import type { RequestLogEntry } from '../src/core/store.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

interface KeyResponse {
  id: string;
  key: string;
  tenant: string;
  prefix: string;
}

describe.skipIf(skip)('tenancy over HTTP', () => {
  let server: TestServer;
  let operator: string;
  const keys: Record<string, KeyResponse> = {};
  const call = (options: InjectOptions & { key?: string }) => {
    const { key, ...rest } = options;
    return server.nimbus.app.inject({ ...rest, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...rest.headers } });
  };
  const createKey = async (as: string | undefined, body: Record<string, unknown>): Promise<KeyResponse> => {
    const response = await call({ method: 'POST', url: '/v1/keys', key: as, payload: body });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  };
  const complete = (key: string, extra: Record<string, unknown> = {}) =>
    call({ method: 'POST', url: '/v1/completions', key, payload: { model: 'stories', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, ...extra } });

  beforeAll(async () => {
    // Output costs $1 per million tokens, input nothing: a request's cost is exactly max_tokens x 1000 nano-dollars.
    server = await startTestServer({ prices: { stories: { input: 0, output: 1 } }, slots: 4, maxQueue: 256 });
  });
  afterAll(async () => server?.stop());

  test('local mode: no key needed until the first key is created, then every request needs one', async () => {
    expect((await complete('')).statusCode).toBe(200);
    const tenant = await call({ method: 'POST', url: '/v1/tenants', payload: { id: 'acme', name: 'Acme', limits: { requests_per_minute: 1000 } } });
    expect(tenant.statusCode).toBe(201);
    expect(tenant.json()).toMatchObject({ object: 'tenant', id: 'acme', name: 'Acme', limits: { requests_per_minute: 1000 } });
    const created = await createKey(undefined, { name: 'operator', scopes: { admin: true } });
    expect(created.key).toMatch(/^nmb_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ object: 'api_key', tenant: 'default', prefix: created.key.slice(0, 12), status: 'active' });
    expect(created).not.toHaveProperty('hash');
    operator = created.key;
    const refused = await complete('');
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({
      error: { message: expect.stringContaining("You didn't provide an API key"), type: 'authentication_error', param: null, code: 'invalid_api_key' },
    });
    expect((await call({ method: 'GET', url: '/v1/models' })).statusCode).toBe(401);
    expect((await call({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await complete(operator)).statusCode).toBe(200);
    // The key is shown once: lists carry the prefix only.
    const listed = await call({ method: 'GET', url: '/v1/keys', key: operator });
    expect(listed.body).not.toContain(created.key);
    expect(listed.json().data[0]).toMatchObject({ id: created.id, prefix: created.prefix });
  });

  test('tenants never see each other: keys, usage, tenants', async () => {
    await call({ method: 'POST', url: '/v1/tenants', key: operator, payload: { id: 'bravo' } });
    keys.acmeAdmin = await createKey(operator, { tenant: 'acme', name: 'acme admin', scopes: { admin: true, inference: true } });
    keys.acmeUser = await createKey(keys.acmeAdmin.key, { name: 'acme user' });
    keys.bravoUser = await createKey(operator, { tenant: 'bravo', name: 'bravo user' });
    expect(keys.acmeUser.tenant).toBe('acme');
    for (const key of [keys.acmeUser.key, keys.bravoUser.key]) expect((await complete(key)).statusCode).toBe(200);
    const acmeAdmin = keys.acmeAdmin.key;

    const acmeKeys = (await call({ method: 'GET', url: '/v1/keys', key: acmeAdmin })).json().data as Array<{ tenant: string }>;
    expect(new Set(acmeKeys.map((key) => key.tenant))).toEqual(new Set(['acme']));
    expect((await call({ method: 'GET', url: '/v1/keys?tenant=bravo', key: acmeAdmin })).statusCode).toBe(403);
    expect((await call({ method: 'GET', url: `/v1/keys/${keys.bravoUser.id}`, key: acmeAdmin })).statusCode).toBe(404);
    expect((await call({ method: 'DELETE', url: `/v1/keys/${keys.bravoUser.id}`, key: acmeAdmin })).statusCode).toBe(404);
    expect((await call({ method: 'POST', url: '/v1/keys', key: acmeAdmin, payload: { tenant: 'bravo', name: 'x' } })).statusCode).toBe(403);
    expect((await call({ method: 'GET', url: '/v1/tenants/bravo', key: acmeAdmin })).statusCode).toBe(404);
    expect((await call({ method: 'GET', url: '/v1/tenants', key: acmeAdmin })).json().data.map((tenant: { id: string }) => tenant.id)).toEqual(['acme']);
    expect((await call({ method: 'POST', url: '/v1/tenants', key: acmeAdmin, payload: { id: 'mine' } })).statusCode).toBe(403);
    expect((await call({ method: 'PATCH', url: '/v1/tenants/acme', key: acmeAdmin, payload: { limits: { tokens_per_day: null } } })).statusCode).toBe(403);

    const acmeUsage = (await call({ method: 'GET', url: '/v1/usage?group_by=tenant,key', key: acmeAdmin })).json().data as Array<{ tenant: string }>;
    expect(acmeUsage.length).toBeGreaterThan(0);
    expect(new Set(acmeUsage.map((row) => row.tenant))).toEqual(new Set(['acme']));
    expect((await call({ method: 'GET', url: '/v1/usage?tenant=bravo', key: acmeAdmin })).statusCode).toBe(403);
    // A key without admin scope reads its own usage, nothing else.
    const own = (await call({ method: 'GET', url: '/v1/usage?group_by=key', key: keys.acmeUser.key })).json().data;
    expect(own).toEqual([expect.objectContaining({ key_id: keys.acmeUser.id, requests: 1, completion_tokens: 8, cost_usd: 0.000008 })]);
    expect((await call({ method: 'GET', url: `/v1/usage?key=${keys.bravoUser.id}`, key: keys.acmeUser.key })).statusCode).toBe(403);
    expect((await call({ method: 'GET', url: '/v1/keys', key: keys.acmeUser.key })).statusCode).toBe(403);
    expect((await call({ method: 'GET', url: '/metrics', key: keys.acmeUser.key })).statusCode).toBe(403);
    // /metrics counts every tenant: a tenant's own admin may not read it either.
    const scraped = await call({ method: 'GET', url: '/metrics', key: acmeAdmin });
    expect([scraped.statusCode, scraped.json().error.code]).toEqual([403, 'permission_denied']);
    expect(scraped.body).not.toContain('bravo');
    // The operator sees everyone, grouped by tenant.
    const all = (await call({ method: 'GET', url: '/v1/usage?group_by=tenant', key: operator })).json().data as Array<{ tenant: string }>;
    expect(all.map((row) => row.tenant)).toEqual(['acme', 'bravo', 'default']);
  });

  test('scopes: models outside a key are refused and not listed; a tenant admin cannot grant beyond its own', async () => {
    const scoped = await createKey(operator, { tenant: 'acme', name: 'scoped', scopes: { models: ['other-model'] } });
    const refused = await complete(scoped.key);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ type: 'permission_error', code: 'permission_denied', param: 'model' });
    expect((await call({ method: 'GET', url: '/v1/models', key: scoped.key })).json().data).toEqual([]);
    expect((await call({ method: 'GET', url: '/v1/models/stories', key: scoped.key })).statusCode).toBe(404);
    const narrowAdmin = await createKey(operator, { tenant: 'acme', name: 'narrow admin', scopes: { admin: true, models: ['stories'] } });
    const widened = await call({ method: 'POST', url: '/v1/keys', key: narrowAdmin.key, payload: { name: 'wide', scopes: { models: '*' } } });
    expect(widened.statusCode).toBe(403);
    expect(widened.json().error.param).toBe('scopes.models');
    const adminOnly = await createKey(operator, { name: 'admin only', scopes: { admin: true, inference: false } });
    expect((await complete(adminOnly.key)).statusCode).toBe(403);
  });

  test('revoked and expired keys are refused at once', async () => {
    const doomed = await createKey(operator, { tenant: 'acme', name: 'doomed' });
    expect((await complete(doomed.key)).statusCode).toBe(200);
    const revoked = await call({ method: 'DELETE', url: `/v1/keys/${doomed.id}`, key: operator });
    expect(revoked.json()).toMatchObject({ id: doomed.id, status: 'revoked', revoked_at: expect.any(Number) });
    const refused = await complete(doomed.key);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.message).toContain('was revoked');
    const expiring = await createKey(operator, { tenant: 'acme', name: 'brief', expires_at: Math.floor(Date.now() / 1000) + 2 });
    expect((await complete(expiring.key)).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await complete(expiring.key)).json().error.message).toContain('expired at');
  });

  test('rate limits: 429 rate_limit_exceeded with x-ratelimit headers; budgets: 429 insufficient_quota', async () => {
    const limited = await createKey(operator, { tenant: 'acme', name: 'rpm', limits: { requests_per_minute: 2, tokens_per_minute: 100_000 } });
    const first = await complete(limited.key);
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-limit-tokens': '100000' });
    expect(first.headers['x-ratelimit-reset-requests']).toMatch(/^\d+(\.\d+)?(ms|s)$/);
    expect((await complete(limited.key)).statusCode).toBe(200);
    const refused = await complete(limited.key);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(refused.json().error.message).toContain("requests per minute (RPM) on key '");
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0');

    const budget = await createKey(operator, { tenant: 'acme', name: 'budget', limits: { tokens_per_day: 100 } });
    const over = await complete(budget.key, { max_tokens: 200 });
    expect(over.statusCode).toBe(429);
    expect(over.json().error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(over.json().error.message).toContain('tokens per day');
    // A refused request is in the ledger too, with its tenant and key and nothing charged.
    await server.nimbus.store.flush();
    const [row] = await server.nimbus.store.listRequests({ keyId: budget.id });
    expect(row).toMatchObject({ tenantId: 'acme', keyId: budget.id, httpStatus: 429, errorCode: 'insufficient_quota', completionTokens: 0, costNanoUsd: 0 });
  });

  test("a key's limits change with PATCH and apply to its very next request; null removes one; the CLI does the same", async () => {
    const key = await createKey(operator, { tenant: 'acme', name: 'editable', limits: { requests_per_minute: 1, tokens_per_day: 1000 } });
    expect((await complete(key.key)).statusCode).toBe(200);
    expect((await complete(key.key)).statusCode).toBe(429);
    const patch = (as: string | undefined, id: string, payload: Record<string, unknown>) => call({ method: 'PATCH', url: `/v1/keys/${id}`, key: as, payload });
    const raised = await patch(operator, key.id, { limits: { requests_per_minute: 5 } });
    expect(raised.statusCode, raised.body).toBe(200);
    expect(raised.json()).toMatchObject({ id: key.id, name: 'editable', limits: { requests_per_minute: 5, tokens_per_day: 1000 } });
    expect((await complete(key.key)).statusCode).toBe(200);
    const cleared = await patch(operator, key.id, { name: 'edited', limits: { tokens_per_day: null } });
    expect(cleared.json()).toMatchObject({ name: 'edited', limits: { requests_per_minute: 5 } });
    expect(cleared.json().limits).not.toHaveProperty('tokens_per_day');
    expect((await call({ method: 'GET', url: `/v1/keys/${key.id}`, key: operator })).json().limits).toEqual({ requests_per_minute: 5 });
    // Checked like create; unknown keys and keys of other tenants are 404; non-admins 403.
    const invalid = await patch(operator, key.id, { limits: { requests_per_minute: -1 } });
    expect([invalid.statusCode, invalid.json().error.param]).toEqual([400, 'limits.requests_per_minute']);
    expect((await patch(operator, key.id, { scopes: { admin: true } })).statusCode).toBe(400);
    expect((await patch(operator, key.id, {})).json().error.message).toContain('Nothing to change');
    expect((await patch(operator, 'key_nope', { name: 'x' })).statusCode).toBe(404);
    expect((await patch(keys.acmeUser!.key, key.id, { name: 'x' })).statusCode).toBe(403);
    const bravoAdmin = await createKey(operator, { tenant: 'bravo', name: 'bravo admin', scopes: { admin: true } });
    expect((await patch(bravoAdmin.key, key.id, { name: 'x' })).statusCode).toBe(404);

    // nimbus keys update: the same through the CLI, against the server's real port.
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      const environment = { NIMBUS_URL: server.url, NIMBUS_API_KEY: operator };
      expect(await keysCommand(['update', key.id, '--rpm', '1', '--tokens-per-day', '50'], environment)).toBe(0);
      expect(await keysCommand(['update', key.id], environment)).toBe(2);
    } finally {
      log.mockRestore();
    }
    expect(printed.join('\n')).toContain(`updated ${key.id} (edited): requests_per_minute=1 tokens_per_day=50`);
    expect((await complete(key.key)).statusCode).toBe(429);
  });

  test("a tenant admin cannot lift its own key's limits, nor make a key looser than its own or its tenant's", async () => {
    const tenant = await call({ method: 'POST', url: '/v1/tenants', key: operator, payload: { id: 'capped', limits: { tokens_per_day: 1_000_000 } } });
    expect(tenant.statusCode).toBe(201);
    const boss = await createKey(operator, { tenant: 'capped', name: 'limited admin', scopes: { admin: true }, limits: { requests_per_minute: 10 } });
    const lifted = await call({ method: 'PATCH', url: `/v1/keys/${boss.id}`, key: boss.key, payload: { limits: { requests_per_minute: null } } });
    expect([lifted.statusCode, lifted.json().error.param]).toEqual([403, 'limits']);
    // A key without the limit would be a way out of it.
    const escape = await call({ method: 'POST', url: '/v1/keys', key: boss.key, payload: { name: 'escape' } });
    expect([escape.statusCode, escape.json().error.param]).toEqual([403, 'limits.requests_per_minute']);
    const beyond = await call({
      method: 'POST',
      url: '/v1/keys',
      key: boss.key,
      payload: { name: 'big', limits: { requests_per_minute: 5, tokens_per_day: 2_000_000 } },
    });
    expect([beyond.statusCode, beyond.json().error.param]).toEqual([403, 'limits.tokens_per_day']);
    const within = await createKey(boss.key, { name: 'within', limits: { requests_per_minute: 5, tokens_per_day: 500 } });
    const loosened = await call({ method: 'PATCH', url: `/v1/keys/${within.id}`, key: boss.key, payload: { limits: { requests_per_minute: 50 } } });
    expect(loosened.statusCode).toBe(403);
    expect((await call({ method: 'PATCH', url: `/v1/keys/${within.id}`, key: boss.key, payload: { limits: { requests_per_minute: 2 } } })).statusCode).toBe(
      200,
    );
    // The operator may change any of it.
    expect((await call({ method: 'PATCH', url: `/v1/keys/${boss.id}`, key: operator, payload: { limits: { requests_per_minute: null } } })).statusCode).toBe(
      200,
    );
  });

  test('200 concurrent requests against a budget that allows exactly 7: exactly 7 served, spend equals what was served', async () => {
    await call({ method: 'POST', url: '/v1/tenants', key: operator, payload: { id: 'budget-test', limits: { cost_per_day_usd: 7 * 8 * 1e-6 } } });
    const key = await createKey(operator, { tenant: 'budget-test', name: 'crowd' });
    const responses = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
          body: JSON.stringify({ model: 'stories', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 }),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { usage?: { completion_tokens: number } } })),
      ),
    );
    const served = responses.filter((response) => response.status === 200);
    expect(served).toHaveLength(7);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(193);
    const servedTokens = served.reduce((sum, response) => sum + response.body.usage!.completion_tokens, 0);
    expect(servedTokens).toBe(56);
    const usage = (await call({ method: 'GET', url: '/v1/usage?tenant=budget-test', key: operator })).json().data;
    expect(usage).toEqual([expect.objectContaining({ requests: 200, completion_tokens: servedTokens, cost_usd: servedTokens * 1e-6 })]);
    // Refused and served apart: the refusals are rows of their own that cost nothing.
    const byStatus = (await call({ method: 'GET', url: '/v1/usage?tenant=budget-test&group_by=status', key: operator })).json().data;
    expect(byStatus).toEqual([
      expect.objectContaining({ status: 'ok', requests: 7, completion_tokens: servedTokens }),
      expect.objectContaining({ status: 'refused', requests: 193, completion_tokens: 0, cost_usd: 0 }),
    ]);
    expect((await complete(key.key)).json().error.code).toBe('insufficient_quota');
  });

  test('a client that leaves mid-stream leaves a ledger row with the tokens generated so far', async () => {
    const key = await createKey(operator, { tenant: 'acme', name: 'leaver', limits: { tokens_per_day: 100_000 } });
    const abort = new AbortController();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ model: 'stories', prompt: 'Once upon a time', max_tokens: 400, temperature: 0, stream: true }),
      signal: abort.signal,
    });
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBeNull();
    const reader = response.body!.getReader();
    let received = '';
    while ((received.match(/"text"/g) ?? []).length < 5) received += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    let rows: RequestLogEntry[] = [];
    for (let attempt = 0; attempt < 100 && rows.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.nimbus.store.flush();
      rows = await server.nimbus.store.listRequests({ keyId: key.id });
    }
    const row = rows[0]!;
    expect(row).toMatchObject({ tenantId: 'acme', keyId: key.id, status: 'cancelled', deviceClass: 'cpu' });
    expect(row.completionTokens).toBeGreaterThanOrEqual(4);
    expect(row.completionTokens).toBeLessThan(400);
    expect(row.computeSeconds).toBeGreaterThan(0);
    expect(row.costNanoUsd).toBe(row.completionTokens * 1000);
  });

  test('usage groups by model, key, day and device class, over a range, as JSON and CSV; Prometheus counts by tenant', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const grouped = await call({ method: 'GET', url: `/v1/usage?group_by=model,day,device_class&start=${today}&tenant=acme`, key: operator });
    expect(grouped.json()).toMatchObject({ object: 'list', group_by: ['model', 'day', 'device_class'] });
    expect(grouped.json().data.length).toBeGreaterThan(0);
    for (const row of grouped.json().data) expect(row).toMatchObject({ model: 'stories', day: today, device_class: expect.toBeOneOf(['cpu', null]) });
    const csv = await call({ method: 'GET', url: '/v1/usage?group_by=key&format=csv&tenant=acme', key: operator });
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.trimEnd().split('\n');
    expect(lines[0]).toBe('key_id,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,compute_seconds,cost_usd');
    expect(lines.some((line) => line.startsWith(`${keys.acmeUser!.id},1,`))).toBe(true);
    const empty = await call({ method: 'GET', url: '/v1/usage?start=2000-01-01&end=2000-01-02', key: operator });
    expect(empty.json().data).toEqual([expect.objectContaining({ requests: 0, cost_usd: 0 })]);
    const metrics = await call({ method: 'GET', url: '/metrics', key: operator });
    const tenantLines = metrics.body
      .split('\n')
      .filter((line) => line.startsWith('nimbus_tenant_'))
      .join('\n');
    expect(tenantLines).toMatch(/nimbus_tenant_requests_total\{tenant="budget-test",model="stories",status="429"\} 194/);
    expect(tenantLines).toMatch(/nimbus_tenant_tokens_total\{tenant="acme",model="stories",type="completion"\} \d+/);
    expect(tenantLines).toMatch(/nimbus_tenant_cost_usd_total\{tenant="budget-test",model="stories"\} 0\.0000(5599|56)/);
  });

  describe('bad input to every admin endpoint is a clear 4xx', () => {
    const cases: Array<{ name: string; method: InjectOptions['method']; url: string; body?: unknown; raw?: string; status: number; param?: string }> = [
      { name: 'tenant: not JSON', method: 'POST', url: '/v1/tenants', raw: '{"id":', status: 400 },
      { name: 'tenant: array body', method: 'POST', url: '/v1/tenants', body: [1], status: 400 },
      { name: 'tenant: missing id', method: 'POST', url: '/v1/tenants', body: { name: 'x' }, status: 400, param: 'id' },
      { name: 'tenant: bad id', method: 'POST', url: '/v1/tenants', body: { id: 'Has Spaces' }, status: 400, param: 'id' },
      { name: 'tenant: id too long', method: 'POST', url: '/v1/tenants', body: { id: 'a'.repeat(64) }, status: 400, param: 'id' },
      { name: 'tenant: unknown field', method: 'POST', url: '/v1/tenants', body: { id: 'ok', color: 'red' }, status: 400 },
      {
        name: 'tenant: negative limit',
        method: 'POST',
        url: '/v1/tenants',
        body: { id: 'ok', limits: { tokens_per_day: -1 } },
        status: 400,
        param: 'limits.tokens_per_day',
      },
      { name: 'tenant: fractional rpm', method: 'POST', url: '/v1/tenants', body: { id: 'ok', limits: { requests_per_minute: 1.5 } }, status: 400 },
      { name: 'tenant: limit a string', method: 'POST', url: '/v1/tenants', body: { id: 'ok', limits: { cost_per_day_usd: '5' } }, status: 400 },
      {
        name: 'tenant: a cost limit below a nano-dollar',
        method: 'POST',
        url: '/v1/tenants',
        body: { id: 'ok', limits: { cost_per_day_usd: 1e-12 } },
        status: 400,
        param: 'limits.cost_per_day_usd',
      },
      {
        name: 'key: a cost limit below a nano-dollar',
        method: 'POST',
        url: '/v1/keys',
        body: { name: 'x', limits: { cost_per_month_usd: 4e-10 } },
        status: 400,
        param: 'limits.cost_per_month_usd',
      },
      { name: 'tenant: unknown limit', method: 'POST', url: '/v1/tenants', body: { id: 'ok', limits: { tokens_per_hour: 5 } }, status: 400 },
      { name: 'tenant: duplicate', method: 'POST', url: '/v1/tenants', body: { id: 'acme' }, status: 409, param: 'id' },
      { name: 'tenant patch: nothing', method: 'PATCH', url: '/v1/tenants/acme', body: {}, status: 400 },
      { name: 'tenant patch: unknown', method: 'PATCH', url: '/v1/tenants/nobody', body: { name: 'x' }, status: 404 },
      { name: 'tenant patch: empty name', method: 'PATCH', url: '/v1/tenants/acme', body: { name: ' ' }, status: 400, param: 'name' },
      { name: 'tenant get: unknown', method: 'GET', url: '/v1/tenants/nobody', status: 404 },
      { name: 'key: missing name', method: 'POST', url: '/v1/keys', body: {}, status: 400, param: 'name' },
      { name: 'key: unknown tenant', method: 'POST', url: '/v1/keys', body: { name: 'x', tenant: 'nobody' }, status: 404, param: 'tenant' },
      { name: 'key: expired already', method: 'POST', url: '/v1/keys', body: { name: 'x', expires_at: 1000 }, status: 400, param: 'expires_at' },
      { name: 'key: expires_at a date string', method: 'POST', url: '/v1/keys', body: { name: 'x', expires_at: '2030-01-01' }, status: 400 },
      { name: 'key: scopes a string', method: 'POST', url: '/v1/keys', body: { name: 'x', scopes: 'admin' }, status: 400, param: 'scopes' },
      { name: 'key: models not a list', method: 'POST', url: '/v1/keys', body: { name: 'x', scopes: { models: 'stories' } }, status: 400 },
      { name: 'key: unknown scope', method: 'POST', url: '/v1/keys', body: { name: 'x', scopes: { root: true } }, status: 400 },
      { name: 'key: unknown field', method: 'POST', url: '/v1/keys', body: { name: 'x', key: 'nmb_mine' }, status: 400 },
      { name: 'keys: bad tenant filter', method: 'GET', url: '/v1/keys?tenant=NO%20PE', status: 400, param: 'tenant' },
      { name: 'keys: unknown parameter', method: 'GET', url: '/v1/keys?limit=5', status: 400, param: 'limit' },
      { name: 'key get: unknown', method: 'GET', url: '/v1/keys/key_nope', status: 404 },
      { name: 'key revoke: unknown', method: 'DELETE', url: '/v1/keys/key_nope', status: 404 },
      { name: 'usage: bad start', method: 'GET', url: '/v1/usage?start=yesterday', status: 400, param: 'start' },
      { name: 'usage: bad end', method: 'GET', url: '/v1/usage?end=2025-13-45T99', status: 400, param: 'end' },
      { name: 'usage: start after end', method: 'GET', url: '/v1/usage?start=2025-02-01&end=2025-01-01', status: 400, param: 'start' },
      { name: 'usage: bad group', method: 'GET', url: '/v1/usage?group_by=model,color', status: 400, param: 'group_by' },
      { name: 'usage: bad format', method: 'GET', url: '/v1/usage?format=xml', status: 400, param: 'format' },
      { name: 'usage: unknown parameter', method: 'GET', url: '/v1/usage?page=2', status: 400, param: 'page' },
      { name: 'usage: repeated parameter', method: 'GET', url: '/v1/usage?start=1&start=2', status: 400, param: 'start' },
      { name: 'usage: bad tenant', method: 'GET', url: '/v1/usage?tenant=%2F..', status: 400, param: 'tenant' },
    ];
    test.each(cases)('$name -> $status', async ({ method, url, body, raw, status, param }) => {
      const response = await call({
        method,
        url,
        key: operator,
        ...(raw !== undefined ? { payload: raw, headers: { 'content-type': 'application/json' } } : body !== undefined ? { payload: body as object } : {}),
      });
      expect(response.statusCode, response.body).toBe(status);
      const error = response.json().error;
      expect(error.message.length).toBeGreaterThan(20);
      expect(error.code).toEqual(expect.any(String));
      if (param) expect(error.param).toBe(param);
      expect(response.body).not.toMatch(/\n\s+at /);
    });

    test('an admin endpoint without a key is a 401, with an inference key a 403', async () => {
      expect((await call({ method: 'POST', url: '/v1/tenants', payload: { id: 'x' } })).statusCode).toBe(401);
      expect((await call({ method: 'POST', url: '/v1/tenants', key: keys.acmeUser!.key, payload: { id: 'x' } })).json().error.code).toBe('permission_denied');
      expect((await call({ method: 'POST', url: '/v1/keys', key: 'nmb_not-a-real-key', payload: { name: 'x' } })).statusCode).toBe(401);
    });
  });
});
