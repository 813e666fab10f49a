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

describe('SlotPool priority classes', () => {
  const batch = (onYield?: () => void, resumed = false) => ({ priority: 'batch' as const, onYield, resumed });
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  test('a batch request takes a free slot when nobody waits', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    await expect(pool.acquire(never, batch())).resolves.toBeDefined();
    expect(pool.busyBatch).toBe(1);
  });

  test('an interactive waiter goes before batch waiters that came first', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    const held = await pool.acquire(never);
    const order: string[] = [];
    const first = pool.acquire(never, batch()).then(() => order.push('batch-1'));
    const second = pool.acquire(never, batch()).then(() => order.push('batch-2'));
    const interactive = pool.acquire(never).then(() => order.push('interactive'));
    pool.release(held);
    await interactive;
    expect(order).toEqual(['interactive']);
    pool.release('a');
    await first;
    pool.release('a');
    await second;
    expect(order).toEqual(['interactive', 'batch-1', 'batch-2']);
  });

  test('a batch request waits while interactive requests wait, even with a slot about to free', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    const a = await pool.acquire(never);
    const b = await pool.acquire(never);
    const interactive = pool.acquire(never);
    let batchGot: string | undefined;
    void pool.acquire(never, batch()).then((slot) => (batchGot = slot));
    pool.release(a);
    await expect(interactive).resolves.toBe(a);
    await tick();
    expect(batchGot).toBeUndefined();
    pool.release(b);
    await tick();
    expect(batchGot).toBe(b);
  });

  test('an interactive request that finds every slot held by batch asks one holder to yield', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    const yields: string[] = [];
    const first = await pool.acquire(
      never,
      batch(() => yields.push('first')),
    );
    await pool.acquire(
      never,
      batch(() => yields.push('second')),
    );
    const waiting = pool.acquire(never);
    // The holder that took its slot last yields first.
    expect(yields).toEqual(['second']);
    pool.release(first === 'a' ? 'b' : 'a');
    await expect(waiting).resolves.toBeDefined();
    expect(pool.busyBatch).toBe(1);
  });

  test('one holder is asked per interactive waiter, and a holder is asked once', async () => {
    const pool = new SlotPool(['a', 'b', 'c'], 5, 'test');
    const yields: string[] = [];
    for (const name of ['x', 'y', 'z'])
      await pool.acquire(
        never,
        batch(() => yields.push(name)),
      );
    void pool.acquire(never);
    expect(yields).toEqual(['z']);
    void pool.acquire(never);
    expect(yields).toEqual(['z', 'y']);
    void pool.acquire(never);
    void pool.acquire(never);
    expect(yields).toEqual(['z', 'y', 'x']);
  });

  test('interactive holders are never asked to yield; a free slot means no yield', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    const yields: string[] = [];
    await pool.acquire(never);
    await pool.acquire(
      never,
      batch(() => yields.push('batch')),
    );
    // With no free slot, the batch holder yields, not the interactive one.
    void pool.acquire(never);
    expect(yields).toEqual(['batch']);
    const spare = new SlotPool(['a', 'b'], 5, 'test');
    await spare.acquire(
      never,
      batch(() => yields.push('spare')),
    );
    await spare.acquire(never);
    expect(yields).toEqual(['batch']);
  });

  test('a batch holder without onYield is not asked and keeps its slot; one with it behind it is asked', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    const yields: string[] = [];
    await pool.acquire(
      never,
      batch(() => yields.push('old')),
    );
    await pool.acquire(never, batch());
    void pool.acquire(never);
    expect(yields).toEqual(['old']);
  });

  test('a resumed batch request goes first among batch waiters, still behind interactive ones', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    const held = await pool.acquire(never);
    const order: string[] = [];
    const fresh = pool.acquire(never, batch()).then(() => order.push('fresh'));
    const resumed = pool.acquire(never, batch(undefined, true)).then(() => order.push('resumed'));
    const interactive = pool.acquire(never).then(() => order.push('interactive'));
    pool.release(held);
    await interactive;
    pool.release('a');
    await resumed;
    pool.release('a');
    await fresh;
    expect(order).toEqual(['interactive', 'resumed', 'fresh']);
  });

  test('each class has its own queue bound', async () => {
    const pool = new SlotPool(['a'], 1, 'model x');
    await pool.acquire(never);
    void pool.acquire(never, batch());
    await expect(pool.acquire(never, batch())).rejects.toMatchObject({ code: 'queue_full' });
    void pool.acquire(never);
    await expect(pool.acquire(never)).rejects.toMatchObject({ code: 'queue_full', message: expect.stringContaining('1 interactive requests') });
    expect(pool.queued).toBe(2);
    expect(pool.queuedBatch).toBe(1);
  });

  test('a batch waiter that aborts leaves the queue; the interactive waiter still gets the slot first', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    const held = await pool.acquire(
      never,
      batch(() => undefined),
    );
    const controller = new AbortController();
    const leaving = pool.acquire(controller.signal, batch());
    const interactive = pool.acquire(never);
    controller.abort(new Error('cancelled'));
    await expect(leaving).rejects.toThrow('cancelled');
    pool.release(held);
    await expect(interactive).resolves.toBe('a');
    expect(pool.queued).toBe(0);
  });

  test('an interactive waiter that leaves does not undo the yield asked; the slot goes to the next batch waiter', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    let asked = 0;
    const held = await pool.acquire(
      never,
      batch(() => (asked += 1)),
    );
    const controller = new AbortController();
    const interactive = pool.acquire(controller.signal);
    const next = pool.acquire(never, batch(undefined, true));
    controller.abort(new Error('client left'));
    await expect(interactive).rejects.toThrow('client left');
    expect(asked).toBe(1);
    pool.release(held);
    await expect(next).resolves.toBe('a');
  });

  test('a holder asked to yield is not asked again by later waiters; the one it made room for is counted', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    let asked = 0;
    const held = await pool.acquire(
      never,
      batch(() => (asked += 1)),
    );
    const first = pool.acquire(never);
    const second = pool.acquire(never);
    expect(asked).toBe(1);
    pool.release(held);
    await expect(first).resolves.toBe('a');
    pool.release('a');
    await expect(second).resolves.toBe('a');
  });

  test('rejectAll rejects both classes', async () => {
    const pool = new SlotPool(['a'], 5, 'test');
    await pool.acquire(never);
    const waiting = [pool.acquire(never), pool.acquire(never, batch())];
    pool.rejectAll(new Error('closing'));
    for (const promise of waiting) await expect(promise).rejects.toThrow('closing');
  });

  test('many batch and interactive requests: every interactive one is served before any batch waiter', async () => {
    const pool = new SlotPool([0, 1, 2, 3], 100, 'test');
    const served: string[] = [];
    const held = await Promise.all(
      [0, 1, 2, 3].map(() =>
        pool.acquire(
          never,
          batch(() => undefined),
        ),
      ),
    );
    const promises: Array<Promise<number>> = [];
    for (let index = 0; index < 20; index += 1) {
      const interactive = index % 3 === 0;
      const tag = `${interactive ? 'i' : 'b'}${index}`;
      promises.push(pool.acquire(never, interactive ? {} : batch()).then((slot) => (served.push(tag), slot)));
    }
    for (const slot of held) pool.release(slot);
    // Each release serves the next waiter.
    let releasing = 0;
    while (served.length < 20 && releasing < 100) {
      pool.release(releasing % 4);
      releasing += 1;
      await tick();
    }
    const firstBatch = served.findIndex((tag) => tag.startsWith('b'));
    const lastInteractive = served.map((tag) => tag.startsWith('i')).lastIndexOf(true);
    expect(lastInteractive).toBeLessThan(firstBatch);
    expect(served.filter((tag) => tag.startsWith('b'))).toEqual(['b1', 'b2', 'b4', 'b5', 'b7', 'b8', 'b10', 'b11', 'b13', 'b14', 'b16', 'b17', 'b19']);
  });

  test('no batch request takes a slot while an interactive prompt is evaluated; firstToken lets them in', async () => {
    const pool = new SlotPool(['a', 'b', 'c'], 5, 'test');
    const interactive = await pool.acquire(never, { prefilling: true });
    // A free slot, nobody waiting: still, a batch request waits until the prompt is evaluated.
    let batchGot: string | undefined;
    void pool.acquire(never, batch()).then((slot) => (batchGot = slot));
    await tick();
    expect(batchGot).toBeUndefined();
    expect(pool.queuedBatch).toBe(1);
    // Another interactive request is not held back.
    const second = await pool.acquire(never, { prefilling: true });
    pool.firstToken(interactive);
    await tick();
    expect(batchGot).toBeUndefined();
    // The second one's release (say it failed before its first token) opens the gate as well.
    pool.release(second);
    await tick();
    expect(batchGot).toBeDefined();
    expect(pool.queuedBatch).toBe(0);
  });

  test('a slot released while an interactive prompt is evaluated stays free for the batch waiter until firstToken', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    const held = await pool.acquire(
      never,
      batch(() => undefined),
    );
    const interactive = await pool.acquire(never, { prefilling: true });
    const resumed = pool.acquire(never, batch(undefined, true));
    pool.release(held);
    await tick();
    expect(pool.busy).toBe(1);
    pool.firstToken(interactive);
    await expect(resumed).resolves.toBe(held);
    expect(pool.resumes).toBe(1);
  });

  test('firstToken twice, or for a holder that did not say prefilling, changes nothing', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test');
    const plain = await pool.acquire(never);
    const prefilling = await pool.acquire(never, { prefilling: true });
    pool.firstToken(plain);
    pool.firstToken(prefilling);
    pool.firstToken(prefilling);
    pool.release(plain);
    await expect(pool.acquire(never, batch())).resolves.toBe(plain);
  });

  test('a holder already generating is asked to yield before one still evaluating its prompt', async () => {
    const pool = new SlotPool(['a', 'b', 'c'], 5, 'test');
    const yields: string[] = [];
    const older = await pool.acquire(
      never,
      batch(() => yields.push('older, generating')),
    );
    await pool.acquire(
      never,
      batch(() => yields.push('newer, prefilling')),
    );
    await pool.acquire(never, { prefilling: true });
    pool.firstToken(older);
    void pool.acquire(never);
    expect(yields).toEqual(['older, generating']);
    void pool.acquire(never);
    expect(yields).toEqual(['older, generating', 'newer, prefilling']);
  });
});
