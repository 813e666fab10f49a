import { describe, expect, test } from 'vitest';
import { SlotPool } from './slot-pool.js';

const never = new AbortController().signal;

describe('SlotPool', () => {
  test('hands out free slots at once, then queues in FIFO order', async () => {
    const pool = new SlotPool(['a', 'b'], 10, 'test');
    const first = await pool.acquire(never);
    const second = await pool.acquire(never);
    expect(new Set([first, second])).toEqual(new Set(['a', 'b']));
    const order: string[] = [];
    const third = pool.acquire(never).then((slot) => order.push(`third:${slot}`));
    const fourth = pool.acquire(never).then((slot) => order.push(`fourth:${slot}`));
    expect(pool.queued).toBe(2);
    pool.release(first);
    await third;
    pool.release(second);
    await fourth;
    expect(order).toEqual([`third:${first}`, `fourth:${second}`]);
    expect(pool.busy).toBe(2);
  });

  test('refuses with queue_full past the bound', async () => {
    const pool = new SlotPool(['a'], 1, 'model x');
    await pool.acquire(never);
    void pool.acquire(never);
    await expect(pool.acquire(never)).rejects.toMatchObject({ code: 'queue_full', status: 429 });
  });

  test('a waiter that aborts leaves the queue without taking a slot', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    const held = await pool.acquire(never);
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    const after = pool.acquire(never);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(pool.queued).toBe(1);
    pool.release(held);
    await expect(after).resolves.toBe('a');
  });

  test('an already aborted signal is refused immediately', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(pool.acquire(controller.signal)).rejects.toThrow('early');
    expect(pool.busy).toBe(0);
  });

  test('choose picks among free slots', async () => {
    const pool = new SlotPool([1, 2, 3], 5, 'test');
    await expect(pool.acquire(never, (free) => free.find((slot) => slot === 2)!)).resolves.toBe(2);
    await expect(pool.acquire(never, (free) => free[0]!)).resolves.toBe(1);
  });

  test('rejectAll empties the queue', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    await pool.acquire(never);
    const waiting = pool.acquire(never);
    pool.rejectAll(new Error('closing'));
    await expect(waiting).rejects.toThrow('closing');
  });
});
