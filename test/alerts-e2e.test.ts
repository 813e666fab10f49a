/**
 * Alerts through real processes (decision 0022): `nimbus serve` with devices on (SQLite, heartbeat
 * 500 ms) and a `nimbus worker` serving stories260K. A tenant's day budget set below what it has
 * spent fires `budget_high` (seen by that tenant's key, from the same counters `/v1/me/limits`
 * reads) and raising it resolves it; the emergency stop fires and clears one; the worker
 * SIGKILLed fires `worker_lost` once however many ticks pass, and its deployment, now without a
 * place, `deployment_unplaceable`. Each transition reaches the live feed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { killDeviceProcesses, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { openEventStream, type EventStream } from './support/event-stream.js';
import { callJson } from './support/json-api.js';
import { killWorkerProcesses, startWorkerProcess, type WorkerProcess } from './support/pool-processes.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
const heartbeatMs = 500;

interface AlertView {
  id: string;
  kind: string;
  tenant: string | null;
  state: 'firing' | 'resolved';
  message: string;
  link: string;
  fired: number;
  change?: string;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(skip)('alerts through real processes', () => {
  let server: DeviceProcess;
  let worker: WorkerProcess;
  let operator: string;
  let tenantKey: string;
  let feed: EventStream;
  const alerts = async (key: string, query = ''): Promise<AlertView[]> => {
    const answer = await callJson(server.url, 'GET', `/v1/alerts${query}`, undefined, key);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.data as AlertView[];
  };
  const alertOf = (key: string, id: string, state: AlertView['state']) =>
    until(`${id} ${state}`, async () => (await alerts(key)).find((alert) => alert.id === id && alert.state === state));

  beforeAll(async () => {
    server = await startDeviceProcess(['--mqtt-port', '0'], { environment: { NIMBUS_POOL_HEARTBEAT_MS: String(heartbeatMs), NIMBUS_LOG_LEVEL: 'info' } });
    operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } })).body.key as string;
    expect((await callJson(server.url, 'POST', '/v1/tenants', { id: 'acme' }, operator)).status).toBe(201);
    tenantKey = (await callJson(server.url, 'POST', '/v1/keys', { name: 'app', tenant: 'acme' }, operator)).body.key as string;
    const { token } = (await callJson(server.url, 'POST', '/v1/pool/join-tokens', {}, operator)).body as { token: string };
    worker = await startWorkerProcess('w1', server.url, token);
    const deployed = await callJson(
      server.url,
      'POST',
      '/v1/deployments',
      { model: storiesPath, name: 'stories', device: 'cpu', context_size: 256, slots: 2, replicas: 1 },
      operator,
    );
    expect(deployed.status, JSON.stringify(deployed.body)).toBeLessThan(300);
    await until(
      'a ready replica',
      async () => {
        const listed = (await callJson(server.url, 'GET', '/v1/deployments', undefined, operator)).body.data as Array<{ placed: Array<{ state: string }> }>;
        return listed[0]?.placed.some((replica) => replica.state === 'ready') ? true : undefined;
      },
      60_000,
    );
    feed = await openEventStream(server.url, operator);
  }, 120_000);

  afterAll(async () => {
    feed?.close();
    killWorkerProcesses();
    killDeviceProcesses();
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  test("a tenant's day budget at 80% or more fires one alert, seen by that tenant; raised, it resolves", async () => {
    for (let index = 0; index < 3; index += 1) {
      const answer = await callJson(server.url, 'POST', '/v1/completions', { model: 'stories', prompt: 'Once upon a time', max_tokens: 16 }, tenantKey);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    await until('the ledger to hold the 3 requests', async () => {
      const logged = (await callJson(server.url, 'GET', '/v1/requests?tenant=acme', undefined, operator)).body.data as unknown[];
      return logged.length >= 3 ? true : undefined;
    });
    // A budget far above first: its counter is seeded from the ledger, as admission seeds it, and /v1/me/limits reads it.
    const patch = (tokens: number) => callJson(server.url, 'PATCH', '/v1/tenants/acme', { limits: { tokens_per_day: tokens } }, operator);
    expect((await patch(1_000_000)).status).toBe(200);
    const standing = (await callJson(server.url, 'GET', '/v1/me/limits', undefined, tenantKey)).body.data as Array<{ name: string; used: number }>;
    const used = standing.find((entry) => entry.name === 'tokens_per_day')!.used;
    expect(used).toBeGreaterThanOrEqual(3 * 16);
    expect((await patch(Math.floor(used / 0.85))).status).toBe(200);
    const alert = await alertOf(tenantKey, 'budget_high:acme/tokens_per_day', 'firing');
    expect(alert).toMatchObject({ kind: 'budget_high', tenant: 'acme', link: '/usage?tenant=acme', fired: 1 });
    expect(alert.message).toContain(`(${used} tokens of ${Math.floor(used / 0.85)} tokens)`);
    expect((await feed.next((event) => event.type === 'alert' && event.data.id === alert.id)).data.change).toBe('fired');
    expect((await patch(used * 10)).status).toBe(200);
    await alertOf(tenantKey, 'budget_high:acme/tokens_per_day', 'resolved');
  }, 60_000);

  test('the emergency stop fires one alert while engaged and resolves it when cleared; another tenant never sees it', async () => {
    expect((await callJson(server.url, 'POST', '/v1/estop', { reason: 'drill' }, operator)).status).toBe(200);
    const alert = await alertOf(operator, 'estop_engaged:default', 'firing');
    expect(alert).toMatchObject({ tenant: 'default', link: '/devices' });
    expect(alert.message).toContain('drill');
    expect((await alerts(tenantKey)).map((entry) => entry.id)).not.toContain('estop_engaged:default');
    expect((await callJson(server.url, 'DELETE', '/v1/estop', undefined, operator)).status).toBe(200);
    await alertOf(operator, 'estop_engaged:default', 'resolved');
    const changes = feed.events.filter((event) => event.type === 'alert' && event.data.id === alert.id).map((event) => event.data.change as string);
    expect(changes).toEqual(['fired', 'resolved']);
  }, 30_000);

  test('a worker SIGKILLed is one worker_lost alert, not one per tick; its deployment that cannot place is another', async () => {
    worker.child.kill('SIGKILL');
    const lost = await alertOf(operator, 'worker_lost:w1', 'firing');
    expect(lost).toMatchObject({ kind: 'worker_lost', tenant: null, fired: 1, link: '/workers?worker=w1' });
    const unplaceable = await alertOf(operator, 'deployment_unplaceable:stories', 'firing');
    expect(unplaceable.link).toBe('/models?deployment=stories');
    // Ten more heartbeats (evaluations): still one row, fired once, one line in the log and one event.
    await new Promise((resolve) => setTimeout(resolve, 10 * heartbeatMs));
    const rows = (await alerts(operator)).filter((alert) => alert.id === 'worker_lost:w1');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'firing', fired: 1 });
    expect(server.output().split('alert fired: Worker w1 is lost').length - 1).toBe(1);
    expect(feed.events.filter((event) => event.type === 'alert' && event.data.id === 'worker_lost:w1')).toHaveLength(1);
    // The cloud's alerts are the operator's: a tenant's key sees none of them.
    expect((await alerts(tenantKey)).filter((alert) => alert.tenant === null)).toEqual([]);
    const firing = await alerts(operator, '?state=firing');
    expect(firing.map((alert) => alert.id).sort()).toEqual(['deployment_unplaceable:stories', 'worker_lost:w1']);
  }, 60_000);
});
