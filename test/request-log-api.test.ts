/**
 * The request log over HTTP (`GET /v1/requests`, `GET /v1/requests/{id}`) on a real server
 * (stories260K, SQLite): every filter, keyset pages that chain to the end, an exact id, a key
 * prefix, the detail view, and who sees what (the operator every tenant, a tenant's admin its
 * tenant, any other key its own requests; another's request is a 404).
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

interface Row {
  id: string;
  tenant: string;
  key_id: string | null;
  model: string;
  status: string;
  created_at_ms: number;
  [field: string]: unknown;
}

interface Page {
  data: Row[];
  has_more: boolean;
  next_cursor: string | null;
}

describe.skipIf(skip)('the request log API', () => {
  let server: TestServer;
  const keys: Record<string, { id: string; key: string; prefix: string }> = {};
  const call = (options: InjectOptions & { key?: string }) => {
    const { key, ...rest } = options;
    return server.nimbus.app.inject({ ...rest, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...rest.headers } });
  };
  const page = async (key: string, query: string): Promise<Page> => {
    const response = await call({ method: 'GET', url: `/v1/requests?${query}`, key });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  /** Every row of a search, a page of `limit` at a time, following next_cursor. */
  const allPages = async (key: string, query: string, limit: number): Promise<string[]> => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const result: Page = await page(key, `${query}&limit=${limit}${cursor ? `&after=${cursor}` : ''}`);
      ids.push(...result.data.map((row) => row.id));
      cursor = result.next_cursor;
      expect(result.has_more).toBe(cursor !== null);
    } while (cursor);
    return ids;
  };
  const complete = (key: string) =>
    call({ method: 'POST', url: '/v1/completions', key, payload: { model: 'stories', prompt: 'Once upon a time', max_tokens: 2, temperature: 0 } });

  beforeAll(async () => {
    server = await startTestServer({ prices: { stories: { input: 0, output: 1 } } });
    await call({ method: 'POST', url: '/v1/tenants', payload: { id: 'acme' } });
    await call({ method: 'POST', url: '/v1/tenants', payload: { id: 'beta' } });
    const create = async (as: string | undefined, body: Record<string, unknown>) => {
      const response = await call({ method: 'POST', url: '/v1/keys', key: as, payload: body });
      expect(response.statusCode, response.body).toBe(201);
      return response.json<{ id: string; key: string; prefix: string }>();
    };
    keys.operator = await create(undefined, { name: 'operator', scopes: { admin: true, inference: true } });
    keys.acmeAdmin = await create(keys.operator.key, { tenant: 'acme', name: 'acme admin', scopes: { admin: true, inference: true } });
    keys.acmeUser = await create(keys.operator.key, { tenant: 'acme', name: 'acme user', limits: { requests_per_minute: 3 } });
    keys.betaUser = await create(keys.operator.key, { tenant: 'beta', name: 'beta user' });
    for (const [name, count] of [
      ['acmeUser', 4],
      ['acmeAdmin', 2],
      ['betaUser', 3],
    ] as const) {
      for (let index = 0; index < count; index += 1) await complete(keys[name]!.key);
    }
  });
  afterAll(async () => server?.stop());

  test('the operator pages through every tenant newest first, and each filter narrows', async () => {
    const operator = keys.operator!.key;
    const all = await allPages(operator, '', 2);
    expect(all).toHaveLength(9);
    const rows = (await page(operator, 'limit=500')).data;
    expect(rows.map((row) => row.id)).toEqual(all);
    for (let index = 1; index < rows.length; index += 1) expect(rows[index - 1]!.created_at_ms).toBeGreaterThanOrEqual(rows[index]!.created_at_ms);
    expect(new Set((await page(operator, 'tenant=beta')).data.map((row) => row.key_id))).toEqual(new Set([keys.betaUser!.id]));
    expect((await page(operator, `key=${keys.acmeUser!.id}`)).data).toHaveLength(4);
    // The acme user's RPM of 3 refused its fourth request: a row of its own.
    const refused = (await page(operator, 'status=refused')).data;
    expect(refused).toEqual([expect.objectContaining({ key_id: keys.acmeUser!.id, status: 'refused', http_status: 429, error_code: 'rate_limit_exceeded' })]);
    expect((await page(operator, `key_prefix=${keys.betaUser!.prefix}`)).data).toHaveLength(3);
    expect((await page(operator, `key_prefix=${keys.betaUser!.key.slice(0, 20)}`)).data).toHaveLength(3);
    expect((await page(operator, 'model=stories&tenant=acme')).data).toHaveLength(6);
    expect((await page(operator, 'model=other')).data).toHaveLength(0);
    expect((await page(operator, 'app=tutor')).data).toHaveLength(0);
    const newest = rows[0]!;
    expect((await page(operator, `from=${Math.floor(newest.created_at_ms / 1000) + 1}`)).data).toHaveLength(0);
    expect((await page(operator, `to=${Math.floor(rows.at(-1)!.created_at_ms / 1000)}`)).data).toHaveLength(0);
    expect((await page(operator, `id=${newest.id}`)).data.map((row) => row.id)).toEqual([newest.id]);
    expect((await page(operator, `id=${newest.id}&tenant=${newest.tenant === 'acme' ? 'beta' : 'acme'}`)).data).toHaveLength(0);
  });

  test('the detail of a request: time, tenant, key, model, served by, status, tokens, cost, TTFT and duration', async () => {
    const [row] = (await page(keys.operator!.key, `key=${keys.acmeAdmin!.id}&status=ok&limit=1`)).data;
    const detail = await call({ method: 'GET', url: `/v1/requests/${row!.id}`, key: keys.operator!.key });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({
      object: 'request',
      id: row!.id,
      tenant: 'acme',
      key_id: keys.acmeAdmin!.id,
      app_id: null,
      model: 'stories',
      served_by: expect.any(String),
      status: 'ok',
      http_status: 200,
      prompt_tokens: expect.any(Number),
      completion_tokens: 2,
      cost_usd: 2e-6,
      ttft_ms: expect.any(Number),
      duration_ms: expect.any(Number),
    });
    expect(detail.json()).toEqual(row);
  });

  test("each caller sees only what it may: a tenant's admin its tenant, a key its own; another's request is a 404", async () => {
    const acme = await page(keys.acmeAdmin!.key, 'limit=500');
    expect(new Set(acme.data.map((row) => row.tenant))).toEqual(new Set(['acme']));
    expect(acme.data).toHaveLength(6);
    expect((await call({ method: 'GET', url: '/v1/requests?tenant=beta', key: keys.acmeAdmin!.key })).statusCode).toBe(403);
    const own = await page(keys.acmeUser!.key, 'limit=500');
    expect(new Set(own.data.map((row) => row.key_id))).toEqual(new Set([keys.acmeUser!.id]));
    expect((await call({ method: 'GET', url: `/v1/requests?key=${keys.acmeAdmin!.id}`, key: keys.acmeUser!.key })).statusCode).toBe(403);
    const beta = (await page(keys.operator!.key, 'tenant=beta&limit=1')).data[0]!;
    for (const key of [keys.acmeAdmin!.key, keys.acmeUser!.key]) {
      expect((await call({ method: 'GET', url: `/v1/requests/${beta.id}`, key })).statusCode).toBe(404);
      expect((await page(key, `id=${beta.id}`)).data).toHaveLength(0);
    }
    // A prefix of another tenant's key matches nothing for acme's admin.
    expect((await page(keys.acmeAdmin!.key, `key_prefix=${keys.betaUser!.prefix}`)).data).toHaveLength(0);
  });

  test('bad parameters are a 400 naming the parameter', async () => {
    for (const [query, param] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['status=maybe', 'status'],
      ['after=bogus', 'after'],
      ['from=yesterday', 'from'],
      ['colour=red', 'colour'],
    ]) {
      const response = await call({ method: 'GET', url: `/v1/requests?${query}`, key: keys.operator!.key });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().error.param).toBe(param);
    }
  });
});
