/**
 * `GET /v1/alerts` on a real server: who sees which alerts (the operator every one, a tenant's
 * admin and its other keys their tenant's only, never the cloud's), the filters, and the refusals
 * that say how to fix the query. The rows are written through the store as the leader's loop
 * writes them; the loop itself is tested through processes in alerts-e2e.test.ts.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { callJson } from './support/json-api.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let operator: string;
let acmeAdmin: string;
let acmeKey: string;

beforeAll(async () => {
  server = await startTestServer({ mqttUrl: 'off', models: [] });
  operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key as string;
  await callJson(server.url, 'POST', '/v1/tenants', { id: 'acme' }, operator);
  await callJson(server.url, 'POST', '/v1/tenants', { id: 'beta' }, operator);
  acmeAdmin = (await callJson(server.url, 'POST', '/v1/keys', { name: 'admin', tenant: 'acme', scopes: { admin: true } }, operator)).body.key as string;
  acmeKey = (await callJson(server.url, 'POST', '/v1/keys', { name: 'app', tenant: 'acme' }, operator)).body.key as string;
  const alerts = server.nimbus.store.alerts;
  await alerts.fireAlert({ kind: 'worker_lost', subject: 'w1', tenantId: null, message: 'Worker w1 is lost', link: '/workers?worker=w1' }, 1000);
  await alerts.fireAlert({ kind: 'estop_engaged', subject: 'acme', tenantId: 'acme', message: 'acme stop', link: '/devices' }, 2000);
  await alerts.fireAlert({ kind: 'budget_high', subject: 'beta/tokens_per_day', tenantId: 'beta', message: 'beta 90%', link: '/usage?tenant=beta' }, 3000);
  await alerts.resolveAlert('estop_engaged:acme', 4000);
}, 60_000);
afterAll(() => server?.stop());

const ids = async (key: string, query = ''): Promise<string[]> => {
  const answer = await callJson(server.url, 'GET', `/v1/alerts${query}`, undefined, key);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body.data as Array<{ id: string }>).map((alert) => alert.id);
};

test("the operator sees every alert; a tenant's admin and its other keys their tenant's only", async () => {
  // Newest first by when each was last seen holding (a resolved one: when it last held).
  expect(await ids(operator)).toEqual(['budget_high:beta/tokens_per_day', 'estop_engaged:acme', 'worker_lost:w1']);
  expect(await ids(acmeAdmin)).toEqual(['estop_engaged:acme']);
  expect(await ids(acmeKey)).toEqual(['estop_engaged:acme']);
});

test('state and limit narrow; each alert says where to look and when', async () => {
  expect(await ids(operator, '?state=firing')).toEqual(['budget_high:beta/tokens_per_day', 'worker_lost:w1']);
  expect(await ids(acmeKey, '?state=firing')).toEqual([]);
  expect(await ids(operator, '?limit=1')).toEqual(['budget_high:beta/tokens_per_day']);
  const [resolved] = (await callJson(server.url, 'GET', '/v1/alerts?state=resolved', undefined, operator)).body.data as unknown[];
  expect(resolved).toEqual({
    object: 'alert',
    id: 'estop_engaged:acme',
    kind: 'estop_engaged',
    subject: 'acme',
    tenant: 'acme',
    state: 'resolved',
    message: 'acme stop',
    link: '/devices',
    first_seen_at: 2,
    last_seen_at: 2,
    resolved_at: 4,
    fired: 1,
  });
});

test('a query it cannot answer is a 400 that names the parameter and what to use', async () => {
  for (const [query, param, words] of [
    ['?state=open', 'state', 'use firing or resolved'],
    ['?limit=0', 'limit', 'from 1 to 500'],
    ['?tenant=acme', 'tenant', 'takes state and limit'],
  ] as const) {
    const answer = await callJson(server.url, 'GET', `/v1/alerts${query}`, undefined, operator);
    expect(answer.status).toBe(400);
    expect(answer.body.error.param).toBe(param);
    expect(answer.body.error.message).toContain(words);
  }
  expect((await callJson(server.url, 'GET', '/v1/alerts')).status).toBe(401);
});
