/**
 * Limits on two servers (`nimbus serve`, built) over one PostgreSQL and one Redis, in front of a
 * scripted upstream: budgets added to a key or a tenant that already spent count that spend,
 * seeded once across both; a server killed with SIGKILL while it holds a key's concurrency leases
 * frees them within 15 s, so the key works again through the other one.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FaultUpstream } from './support/fault-upstream.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { budgetApi, unitsUsd } from './support/budget-api.js';
import { createTestDatabase, redisUrl, skipWithoutPostgres, skipWithoutRedis } from './support/services.js';

const skip = (await skipWithoutPostgres()) || (await skipWithoutRedis());

/** The fields of an answer these tests read. */
interface Answer {
  key?: string;
  error?: { code: string };
}

/** One JSON call with a key (or none). */
async function api(url: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

/** The server that did not make a change applies it when its cached copy lapses (`tenancy.authCacheMs`, 500 ms). */
const untilOtherServerLooksAgain = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 600));

const chat = (stream = false): object => ({ model: 'echo', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 16, stream });

describe.skipIf(skip)('limits across a crash: two servers on PostgreSQL and Redis', () => {
  let upstream: FaultUpstream;
  let database: { url: string; drop(): Promise<void> };
  let first: NimbusProcess;
  let second: NimbusProcess;
  let operator: string;
  let environment: Record<string, string>;

  beforeAll(async () => {
    upstream = await FaultUpstream.start();
    database = await createTestDatabase();
    const config = join(mkdtempSync(join(tmpdir(), 'nimbus-recovery-')), 'nimbus.json');
    writeFileSync(
      config,
      JSON.stringify({
        providers: [{ id: 'fault', baseUrl: `${upstream.url}/v1` }],
        upstreamModels: [{ id: 'echo', provider: 'fault' }],
        // One call costs one unit (support/budget-api.ts).
        prices: { echo: { input: 0, output: 1 } },
      }),
    );
    environment = { NIMBUS_CONFIG: config, NIMBUS_DATABASE_URL: database.url, NIMBUS_REDIS_URL: redisUrl };
    first = await startNimbusProcess(['--log-level', 'info'], environment);
    operator = (await api(first.url, '', 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key!;
    second = await startNimbusProcess(['--log-level', 'info'], environment);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first, second].map((server) => server?.stop()));
    killNimbusProcesses();
    await upstream?.close();
    await database?.drop();
  });

  test('budgets added to a key and to a tenant that already spent count that spend, across both servers', async () => {
    const both = budgetApi(first.url, second.url);
    const key = (await both.call(operator, 'POST', '/v1/keys', { name: 'late-budget' })).body;
    expect(await both.burst(key.key!, 4)).toEqual({ served: 4, refused: 0 });
    await both.flushed(operator, key.id!, 4);
    expect((await both.call(operator, 'PATCH', `/v1/keys/${key.id}`, { limits: { cost_per_day_usd: unitsUsd(10) } })).status).toBe(200);
    await untilOtherServerLooksAgain();
    expect(await both.burst(key.key!, 40)).toEqual({ served: 6, refused: 34 });

    const tenant = `late-${Date.now().toString(36)}`;
    expect((await both.call(operator, 'POST', '/v1/tenants', { id: tenant })).status).toBe(201);
    const member = (await both.call(operator, 'POST', '/v1/keys', { tenant, name: 'member' })).body;
    expect(await both.burst(member.key!, 3)).toEqual({ served: 3, refused: 0 });
    await both.flushed(operator, member.id!, 3);
    expect((await both.call(operator, 'PATCH', `/v1/tenants/${tenant}`, { limits: { cost_per_month_usd: unitsUsd(5) } })).status).toBe(200);
    await untilOtherServerLooksAgain();
    expect(await both.burst(member.key!, 40)).toEqual({ served: 2, refused: 38 });
  });

  test('an installation on another database sharing the Redis counts its own: the same tenant id there has its whole budget', async () => {
    const tenant = `twin-${Date.now().toString(36)}`;
    const limits = { cost_per_day_usd: unitsUsd(3) };
    const both = budgetApi(first.url, second.url);
    expect((await both.call(operator, 'POST', '/v1/tenants', { id: tenant, limits })).status).toBe(201);
    const here = (await both.call(operator, 'POST', '/v1/keys', { tenant, name: 'here' })).body;
    expect(await both.burst(here.key!, 5)).toEqual({ served: 3, refused: 2 });

    const otherDatabase = await createTestDatabase();
    const other = await startNimbusProcess(['--log-level', 'info'], { ...environment, NIMBUS_DATABASE_URL: otherDatabase.url });
    try {
      const elsewhere = budgetApi(other.url);
      const otherOperator = (await elsewhere.call('', 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key!;
      expect((await elsewhere.call(otherOperator, 'POST', '/v1/tenants', { id: tenant, limits })).status).toBe(201);
      const there = (await elsewhere.call(otherOperator, 'POST', '/v1/keys', { tenant, name: 'there' })).body;
      expect(await elsewhere.burst(there.key!, 5)).toEqual({ served: 3, refused: 2 });
    } finally {
      await other.stop();
      await otherDatabase.drop();
    }
  });

  test('a server killed while it holds a key’s concurrency leases frees them within 15 s: the key works again through the other', async () => {
    const key = (await api(first.url, operator, 'POST', '/v1/keys', { name: 'two-at-once', limits: { concurrent_requests: 2 } })).body.key!;
    // Two streams that the upstream starts and never ends: both leases held by the first server.
    upstream.always = { kind: 'stall-after', events: 2 };
    const held = await Promise.all(
      [0, 1].map(() =>
        fetch(`${first.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(chat(true)),
        }),
      ),
    );
    expect(held.map((response) => response.status)).toEqual([200, 200]);
    const refused = await api(second.url, key, 'POST', '/v1/chat/completions', chat());
    expect([refused.status, refused.body.error?.code]).toEqual([429, 'rate_limit_exceeded']);

    first.child.kill('SIGKILL');
    const killedAt = performance.now();
    upstream.always = undefined;
    for (const response of held) response.body?.cancel().catch(() => undefined);
    let answer = refused;
    while (answer.status !== 200 && performance.now() - killedAt < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await api(second.url, key, 'POST', '/v1/chat/completions', chat());
    }
    const freedAfterMs = performance.now() - killedAt;
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(freedAfterMs).toBeLessThan(15_000);
    // The survivor's log line and its next answer race through two pipes into this process: wait for the line.
    await expect.poll(() => second.output(), { timeout: 5_000 }).toMatch(/released 2 lease\(s\) of process/);
    console.log(`concurrency leases of the killed server freed after ${Math.round(freedAfterMs)} ms`);
  }, 40_000);
});
