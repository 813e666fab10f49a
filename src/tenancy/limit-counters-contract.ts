/**
 * The LimitCounters contract: one suite, run on the in-process counters and on Redis, so both
 * admit exactly the same requests. Uses the real clock (Redis expires keys by its own).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { CounterCheck, LimitCounters } from '../core/limit-counters.js';

/** Registers the suite for one implementation; `open` returns counters that share nothing with earlier tests' keys. */
export function runLimitCountersContract(name: string, open: () => Promise<LimitCounters>): void {
  const fresh = (label: string): string => `{t${randomBytes(4).toString('hex')}}:${label}`;
  const window = (key: string, limit: number, amount: number, expiresAt = Date.now() + 60_000): CounterCheck => ({
    key,
    kind: 'window',
    limit,
    amount,
    expiresAt,
  });
  const slots = (key: string, limit: number, expiresAt = Date.now() + 60_000): CounterCheck => ({ key, kind: 'concurrency', limit, amount: 1, expiresAt });

  describe(`LimitCounters contract: ${name}`, () => {
    test('a reservation that fits adds to every counter and reports the values after it', async () => {
      const counters = await open();
      const [a, b] = [fresh('a'), fresh('b')];
      expect(await counters.reserve('r1', [window(a, 10, 3), window(b, 100, 40)], Date.now())).toEqual({ ok: true, failed: -1, values: [3, 40] });
      expect(await counters.reserve('r2', [window(a, 10, 7), window(b, 100, 60)], Date.now())).toEqual({ ok: true, failed: -1, values: [10, 100] });
      expect(await counters.read([a, b, fresh('never')], Date.now())).toEqual([10, 100, 0]);
      await counters.close();
    });

    test('all or nothing: when one counter does not fit, none is added to, and the first misfit is named', async () => {
      const counters = await open();
      const [a, b, c] = [fresh('a'), fresh('b'), fresh('c')];
      await counters.reserve('r1', [window(b, 10, 8)], Date.now());
      const refused = await counters.reserve('r2', [window(a, 10, 5), window(b, 10, 5), window(c, 1, 5)], Date.now());
      expect(refused).toEqual({ ok: false, failed: 1, values: [0, 8] });
      expect(await counters.read([a, b, c], Date.now())).toEqual([0, 8, 0]);
      expect((await counters.reserve('r3', [window(a, 4, 5)], Date.now())).ok).toBe(false);
      await counters.close();
    });

    test('settlement refunds or adds the difference, and leaves absent counters absent', async () => {
      const counters = await open();
      const [a, gone] = [fresh('a'), fresh('gone')];
      await counters.reserve('r1', [window(a, 100, 50)], Date.now());
      await counters.settle(
        'r1',
        [
          { key: a, delta: -30, used: 20 },
          { key: gone, delta: 5, used: 5 },
        ],
        [],
      );
      expect(await counters.read([a, gone], Date.now())).toEqual([20, 0]);
      await counters.settle('r1', [{ key: a, delta: 4, used: 4 }], []);
      expect(await counters.read([a], Date.now())).toEqual([24]);
      await counters.close();
    });

    test('concurrency leases: at most the limit at once, freed on settle, and lapsed when never settled', async () => {
      const counters = await open();
      const running = fresh('running');
      expect((await counters.reserve('r1', [slots(running, 2)], Date.now())).ok).toBe(true);
      expect((await counters.reserve('r2', [slots(running, 2, Date.now() + 300)], Date.now())).values).toEqual([2]);
      expect(await counters.reserve('r3', [slots(running, 2)], Date.now())).toEqual({ ok: false, failed: 0, values: [2] });
      await counters.settle('r1', [], [running]);
      expect((await counters.reserve('r3', [slots(running, 2)], Date.now())).ok).toBe(true);
      expect((await counters.reserve('r4', [slots(running, 2)], Date.now())).ok).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await counters.reserve('r4', [slots(running, 2)], Date.now())).ok).toBe(true);
      expect(await counters.read([running], Date.now())).toEqual([2]);
      await counters.close();
    });

    test('a window ends: its counter starts again from zero', async () => {
      const counters = await open();
      const minute = fresh('minute');
      await counters.reserve('r1', [window(minute, 5, 5, Date.now() + 200)], Date.now());
      expect((await counters.reserve('r2', [window(minute, 5, 1, Date.now() + 200)], Date.now())).ok).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await counters.reserve('r3', [window(minute, 5, 1)], Date.now())).toEqual({ ok: true, failed: -1, values: [1] });
      await counters.close();
    });

    test('seeding sets a counter only where none exists', async () => {
      const counters = await open();
      const [seeded, used] = [fresh('seeded'), fresh('used')];
      await counters.reserve('r1', [window(used, 100, 7)], Date.now());
      await counters.seed(seeded, 40, Date.now() + 60_000);
      await counters.seed(seeded, 99, Date.now() + 60_000);
      await counters.seed(used, 99, Date.now() + 60_000);
      expect(await counters.read([seeded, used], Date.now())).toEqual([40, 7]);
      expect((await counters.reserve('r2', [window(seeded, 50, 11)], Date.now())).ok).toBe(false);
      await counters.close();
    });

    test('a budget counter that does not exist is not created at zero: the reservation answers unseeded and adds nothing; once seeded it counts', async () => {
      const counters = await open();
      const [rate, budget] = [fresh('rate'), fresh('budget')];
      const checks = (): CounterCheck[] => [window(rate, 100, 1), { ...window(budget, 100, 30), seed: true }];
      expect(await counters.reserve('r1', checks(), Date.now())).toEqual({ ok: false, failed: 1, values: [0], unseeded: true });
      expect(await counters.read([rate, budget], Date.now())).toEqual([0, 0]);
      await counters.seed(budget, 60, Date.now() + 60_000);
      expect(await counters.reserve('r1', checks(), Date.now())).toEqual({ ok: true, failed: -1, values: [1, 90] });
      await counters.clear([budget]);
      expect((await counters.reserve('r2', checks(), Date.now())).unseeded).toBe(true);
      await counters.close();
    });

    test('200 reservations at once against room for exactly 37: exactly 37 fit, and the counter says so', async () => {
      const counters = await open();
      const [budget, rate] = [fresh('budget'), fresh('rate')];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) => counters.reserve(`r${index}`, [window(rate, 1_000_000, 1), window(budget, 37 * 13, 13)], Date.now())),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(37);
      expect(await counters.read([budget, rate], Date.now())).toEqual([37 * 13, 37]);
      await counters.close();
    });

    test('amounts in nano-dollars stay exact past 2^32', async () => {
      const counters = await open();
      const cost = fresh('cost');
      const big = 5_000_000_000_123;
      expect((await counters.reserve('r1', [window(cost, 2 * big, big)], Date.now())).values).toEqual([big]);
      await counters.settle('r1', [{ key: cost, delta: -123, used: big - 123 }], []);
      expect(await counters.read([cost], Date.now())).toEqual([big - 123]);
      await counters.close();
    });
  });
}
