/** The LimitCounters contract on Redis (127.0.0.1:6379); every test uses keys of its own. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import type { CounterCheck } from '../../core/limit-counters.js';
import { redisUrl, skipWithoutRedis } from '../../../test/support/services.js';
import { runLimitCountersContract } from '../../tenancy/limit-counters-contract.js';
import { RedisLimitCounters } from './redis-limit-counters.js';

const open = async (): Promise<RedisLimitCounters> => {
  const counters = new RedisLimitCounters(redisUrl);
  await counters.connect();
  return counters;
};

if (await skipWithoutRedis()) test.skip('LimitCounters contract: Redis (no Redis at 127.0.0.1:6379)', () => undefined);
else {
  runLimitCountersContract('Redis', open);

  test('after Redis forgets its scripts (a restart), they are loaded again and the call goes through', async () => {
    const counters = await open();
    const admin = new Redis(redisUrl);
    await admin.script('FLUSH');
    const key = `{t${randomBytes(4).toString('hex')}}:after-flush`;
    expect(await counters.reserve('r1', [{ key, kind: 'window', limit: 5, amount: 2, expiresAt: Date.now() + 60_000 }], Date.now())).toEqual({
      ok: true,
      failed: -1,
      values: [2],
    });
    admin.disconnect();
    await counters.close();
  });

  test('a process that stops beating is taken for dead: a survivor releases its leases and reservations, and its late settlement charges what was used', async () => {
    const namespace = `test-${randomBytes(4).toString('hex')}:`;
    // Renews every minute but is dead after 300 ms: a process frozen or killed right after its last beat.
    const frozen = new RedisLimitCounters(redisUrl, { namespace, beatMs: 60_000, livenessMs: 300 });
    await frozen.connect();
    const swept: number[] = [];
    const survivor = new RedisLimitCounters(redisUrl, {
      namespace,
      beatMs: 100,
      livenessMs: 300,
      onSweep: (processId, leases) => processId === frozen.processId && swept.push(leases),
    });
    await survivor.connect();
    const tenant = `{t${randomBytes(4).toString('hex')}}`;
    const [running, budget] = [`${tenant}:running`, `${tenant}:budget`];
    const slot = (): CounterCheck => ({ key: running, kind: 'concurrency', limit: 1, amount: 1, expiresAt: Date.now() + 3_600_000 });
    const spend = (amount: number): CounterCheck => ({ key: budget, kind: 'window', limit: 100, amount, expiresAt: Date.now() + 60_000 });
    expect((await frozen.reserve('r1', [slot(), spend(50)], Date.now())).ok).toBe(true);
    expect((await survivor.reserve('s1', [slot(), spend(1)], Date.now())).ok).toBe(false);
    const started = Date.now();
    while (swept.length === 0 && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(swept).toEqual([1]);
    expect(await survivor.read([running, budget], Date.now())).toEqual([0, 0]);
    expect((await survivor.reserve('s1', [slot(), spend(1)], Date.now())).ok).toBe(true);
    // The frozen process wakes and settles: its reservation was given back, so what it used (20) is charged whole.
    await frozen.settle('r1', [{ key: budget, delta: -30, used: 20 }], [running]);
    expect(await survivor.read([running, budget], Date.now())).toEqual([1, 21]);
    await survivor.settle('s1', [{ key: budget, delta: 0, used: 1 }], [running]);
    expect(await survivor.read([running, budget], Date.now())).toEqual([0, 21]);
    await frozen.close();
    await survivor.close();
  });

  test('installations sharing a Redis share no counter: each namespace counts its own', async () => {
    const key = `{t${randomBytes(4).toString('hex')}}:budget`;
    const [one, two] = [new RedisLimitCounters(redisUrl, { namespace: 'test-one:' }), new RedisLimitCounters(redisUrl, { namespace: 'test-two:' })];
    await Promise.all([one.connect(), two.connect()]);
    const spend = (amount: number): CounterCheck => ({ key, kind: 'window', limit: 10, amount, expiresAt: Date.now() + 60_000 });
    expect((await one.reserve('r1', [spend(10)], Date.now())).ok).toBe(true);
    expect((await two.reserve('r1', [spend(10)], Date.now())).ok).toBe(true);
    expect(await one.read([key], Date.now())).toEqual([10]);
    await Promise.all([one.close(), two.close()]);
  });

  test('a refused or unseeded reservation leaves no counter behind, not even one it made and took back; a counter it makes gets its window end', async () => {
    const namespace = `test-${randomBytes(4).toString('hex')}:`;
    const counters = new RedisLimitCounters(redisUrl, { namespace });
    await counters.connect();
    const admin = new Redis(redisUrl);
    const tenant = `{t${randomBytes(4).toString('hex')}}`;
    const [rate, tokens, budget] = [`${tenant}:rate`, `${tenant}:tokens`, `${tenant}:budget`];
    const end = Date.now() + 60_000;
    const window = (key: string, limit: number, amount: number): CounterCheck => ({ key, kind: 'window', limit, amount, expiresAt: end });
    await counters.reserve('r0', [window(tokens, 100, 90)], Date.now());
    // tokens refuses after rate was added to (and made): both as they were, rate absent again.
    expect(await counters.reserve('r1', [window(rate, 10, 1), window(tokens, 100, 20)], Date.now())).toEqual({ ok: false, failed: 1, values: [0, 90] });
    expect(await admin.exists(namespace + rate)).toBe(0);
    expect(await admin.get(namespace + tokens)).toBe('90');
    expect(await counters.reserve('r2', [window(rate, 10, 1), { ...window(budget, 100, 5), seed: true }], Date.now())).toEqual({
      ok: false,
      failed: 1,
      values: [0],
      unseeded: true,
    });
    expect(await admin.exists(namespace + rate, namespace + budget)).toBe(0);
    expect((await counters.reserve('r3', [window(rate, 10, 1)], Date.now())).ok).toBe(true);
    expect(Math.abs((await admin.pexpiretime(namespace + rate)) - end)).toBeLessThanOrEqual(1);
    admin.disconnect();
    await counters.close();
  });

  test('the lease record keeps the lines the released sweep reads (`w AMOUNT KEY`, `c 0 KEY`), so a process of either version can sweep the other', async () => {
    const namespace = `test-${randomBytes(4).toString('hex')}:`;
    const counters = new RedisLimitCounters(redisUrl, { namespace });
    await counters.connect();
    const admin = new Redis(redisUrl);
    const tenantId = `t${randomBytes(4).toString('hex')}`;
    const [rate, running, cost] = [`{${tenantId}}:rate`, `{${tenantId}}:running`, `{${tenantId}}:cost`];
    const end = Date.now() + 60_000;
    await counters.reserve(
      'r1',
      [
        { key: rate, kind: 'window', limit: 10, amount: 1, expiresAt: end },
        { key: running, kind: 'concurrency', limit: 2, amount: 1, expiresAt: end },
        { key: cost, kind: 'window', limit: 10_000_000_000_000, amount: 5_000_000_000_123, expiresAt: end },
        { key: `{${tenantId}}:nothing`, kind: 'window', limit: 10, amount: 0, expiresAt: end },
      ],
      Date.now(),
    );
    expect(await admin.hget(`${namespace}{${tenantId}}:leases:${counters.processId}`, 'r1')).toBe(
      [`w 1 ${namespace}${rate}`, `c 0 ${namespace}${running}`, `w 5000000000123 ${namespace}${cost}`].join('\n'),
    );
    admin.disconnect();
    await counters.close();
  });

  test('a wrong address is refused at connect, not on the first request', async () => {
    const counters = new RedisLimitCounters('redis://127.0.0.1:1');
    await expect(counters.connect()).rejects.toThrow();
    await counters.close();
  });
}
