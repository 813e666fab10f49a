/** The LimitCounters contract on Redis (127.0.0.1:6379); every test uses keys of its own. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
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

  test('a wrong address is refused at connect, not on the first request', async () => {
    const counters = new RedisLimitCounters('redis://127.0.0.1:1');
    await expect(counters.connect()).rejects.toThrow();
    await counters.close();
  });
}
