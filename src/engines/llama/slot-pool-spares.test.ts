import { describe, expect, test } from 'vitest';
import { SlotPool, type AcquireOptions } from './slot-pool.js';

const never = new AbortController().signal;
const tick = () => new Promise((resolve) => setImmediate(resolve));
const batch = (onYield?: () => void, resumed = false): AcquireOptions<string> => ({ priority: 'batch', onYield, resumed });

describe('SlotPool spare slots', () => {
  test('an interactive request that finds every slot held by batch takes a spare at once: no batch holder is asked to yield', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test', ['s']);
    const yields: string[] = [];
    await pool.acquire(
      never,
      batch(() => yields.push('a')),
    );
    await pool.acquire(
      never,
      batch(() => yields.push('b')),
    );
    await expect(pool.acquire(never)).resolves.toBe('s');
    expect(yields).toEqual([]);
    expect(pool.yieldsAsked).toBe(0);
    expect(pool.spareTakes).toBe(1);
    expect(pool.busy).toBe(3);
  });

  test('with no batch traffic a spare is never taken: the request past the slots waits, as with no spare', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test', ['s']);
    const first = await pool.acquire(never);
    await pool.acquire(never);
    let got: string | undefined;
    void pool.acquire(never).then((slot) => (got = slot));
    await tick();
    expect(got).toBeUndefined();
    expect(pool.queued).toBe(1);
    pool.release(first);
    await tick();
    expect(got).toBe(first);
    expect(pool.spareTakes).toBe(0);
  });

  test('a batch request never takes a spare, even with nothing else free and nobody waiting', async () => {
    const pool = new SlotPool(['a'], 5, 'test', ['s', 't']);
    await pool.acquire(never, batch());
    let got: string | undefined;
    void pool.acquire(never, batch()).then((slot) => (got = slot));
    await tick();
    expect(got).toBeUndefined();
    expect(pool.queuedBatch).toBe(1);
  });

  test('a free ordinary slot goes before a spare', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test', ['s']);
    const line = await pool.acquire(never, batch());
    await expect(pool.acquire(never)).resolves.toBe(line === 'a' ? 'b' : 'a');
    expect(pool.spareTakes).toBe(0);
  });

  test('interactive requests hold at most as many slots as there are ordinary ones, spares included', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test', ['s', 't']);
    const yields: string[] = [];
    const line = await pool.acquire(
      never,
      batch(() => yields.push('batch')),
    );
    await expect(pool.acquire(never)).resolves.toBe(line === 'a' ? 'b' : 'a');
    await expect(pool.acquire(never)).resolves.toBe('t');
    // Two interactive holders, two ordinary slots: the third waits (a spare is still free) and the batch holder yields.
    let third: string | undefined;
    void pool.acquire(never).then((slot) => (third = slot));
    expect(yields).toEqual(['batch']);
    await tick();
    expect(third).toBeUndefined();
    pool.release(line);
    await tick();
    expect(third).toBe(line);
  });

  test('a spare given back goes to an interactive waiter, never to a batch waiter', async () => {
    const pool = new SlotPool(['a'], 5, 'test', ['s']);
    await pool.acquire(
      never,
      batch(() => undefined),
    );
    const spare = await pool.acquire(never);
    expect(spare).toBe('s');
    let batchGot: string | undefined;
    void pool.acquire(never, batch()).then((slot) => (batchGot = slot));
    pool.release(spare);
    await tick();
    expect(batchGot).toBeUndefined();
    // The next interactive request takes the spare again.
    await expect(pool.acquire(never)).resolves.toBe('s');
  });

  test('more interactive requests than spares: the one past them makes a batch holder yield, as without spares', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test', ['s']);
    const yields: string[] = [];
    await pool.acquire(
      never,
      batch(() => yields.push('first')),
    );
    await pool.acquire(
      never,
      batch(() => yields.push('second')),
    );
    await expect(pool.acquire(never)).resolves.toBe('s');
    const waiting = pool.acquire(never);
    expect(yields).toEqual(['second']);
    pool.release('b');
    await expect(waiting).resolves.toBe('b');
  });

  test('an interactive waiter held back by the cap gets the spare when an interactive holder leaves', async () => {
    const pool = new SlotPool(['a', 'b'], 5, 'test', ['s']);
    let asked = 0;
    await pool.acquire(
      never,
      batch(() => (asked += 1)),
    );
    const b = await pool.acquire(never);
    const spare = await pool.acquire(never);
    expect(spare).toBe('s');
    // At the cap: this one waits and asks the batch holder to yield.
    const waiting = pool.acquire(never);
    expect(asked).toBe(1);
    pool.release(spare);
    await expect(waiting).resolves.toBe('s');
    pool.release(b);
    await tick();
    expect(pool.busy).toBe(2);
  });

  test('an interactive prompt evaluated on a spare holds back batch requests until its first token', async () => {
    const pool = new SlotPool(['a'], 5, 'test', ['s']);
    const line = await pool.acquire(
      never,
      batch(() => undefined),
    );
    const spare = await pool.acquire(never, { prefilling: true });
    let next: string | undefined;
    void pool.acquire(never, batch(undefined, true)).then((slot) => (next = slot));
    pool.release(line);
    await tick();
    expect(next).toBeUndefined();
    pool.firstToken(spare);
    await tick();
    expect(next).toBe('a');
  });

  test('choose picks among free spares', async () => {
    const pool = new SlotPool(['a'], 5, 'test', ['s', 't', 'u']);
    await pool.acquire(never, batch());
    await expect(pool.acquire(never, { choose: (free) => free.find((slot) => slot === 't')! })).resolves.toBe('t');
  });

  test('a release of a slot nobody holds changes nothing', async () => {
    const pool = new SlotPool(['a'], 5, 'test', ['s']);
    pool.release('s');
    pool.release('a');
    await pool.acquire(never, batch());
    await expect(pool.acquire(never)).resolves.toBe('s');
    let got: string | undefined;
    void pool.acquire(never).then((slot) => (got = slot));
    await tick();
    expect(got).toBeUndefined();
  });
});

/** A seeded generator, so a failing sequence of operations can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Request {
  priority: 'interactive' | 'batch';
  slot?: string;
  /** An interactive request before its first token (it said `prefilling`). */
  prefilling: boolean;
}

/** Random arrivals, releases, first tokens and yields; returns the order slots were handed out in and any broken rule. */
async function simulate(seed: number, options: { spares: string[]; batchShare: number }) {
  const next = random(seed);
  const ordinary = ['a', 'b', 'c'];
  const pool = new SlotPool(ordinary, 1000, 'test', options.spares);
  const requests: Request[] = [];
  const handed: string[] = [];
  const problems: string[] = [];
  const check = (step: number): void => {
    const held = requests.filter((request) => request.slot !== undefined);
    const slots = held.map((request) => request.slot!);
    const waiting = requests.filter((request) => request.slot === undefined && !handedBack.has(request));
    const freeOrdinary = ordinary.filter((slot) => !slots.includes(slot)).length;
    const freeSpares = options.spares.filter((slot) => !slots.includes(slot)).length;
    const interactiveHeld = held.filter((request) => request.priority === 'interactive').length;
    if (new Set(slots).size !== slots.length) problems.push(`${step}: a slot held twice: ${slots.join(',')}`);
    if (held.some((request) => request.priority === 'batch' && options.spares.includes(request.slot!))) problems.push(`${step}: a batch request holds a spare`);
    const interactiveWaits = waiting.some((request) => request.priority === 'interactive');
    if (interactiveWaits && (freeOrdinary > 0 || (freeSpares > 0 && interactiveHeld < ordinary.length)))
      problems.push(`${step}: an interactive request waits with a slot open to it`);
    const prefilling = held.some((request) => request.prefilling);
    if (waiting.some((request) => request.priority === 'batch') && !interactiveWaits && !prefilling && freeOrdinary > 0)
      problems.push(`${step}: a batch request waits with a slot free`);
  };
  const handedBack = new Set<Request>();
  for (let step = 0; step < 200; step += 1) {
    const roll = next();
    const holders = requests.filter((request) => request.slot !== undefined);
    if (roll < 0.5 || holders.length === 0) {
      const request: Request = { priority: next() < options.batchShare ? 'batch' : 'interactive', prefilling: false };
      requests.push(request);
      const yieldTo = (): void => {
        // A yield is a release a little later.
        setImmediate(() => {
          if (request.slot !== undefined) {
            const slot = request.slot;
            request.slot = undefined;
            handedBack.add(request);
            pool.release(slot);
          }
        });
      };
      const prefilling = request.priority === 'interactive' && next() < 0.5;
      void pool.acquire(never, request.priority === 'batch' ? { priority: 'batch', onYield: yieldTo } : { prefilling }).then((slot) => {
        request.slot = slot;
        request.prefilling = prefilling;
        handed.push(`${requests.indexOf(request)}:${slot}`);
      });
    } else if (roll < 0.85) {
      const holder = holders[Math.floor(next() * holders.length)]!;
      const slot = holder.slot!;
      holder.slot = undefined;
      handedBack.add(holder);
      pool.release(slot);
    } else {
      const holder = holders[Math.floor(next() * holders.length)]!;
      holder.prefilling = false;
      pool.firstToken(holder.slot!);
    }
    await tick();
    check(step);
  }
  return { handed, problems, pool };
}

describe('SlotPool spare slots, random sequences of operations', () => {
  test.each(Array.from({ length: 40 }, (_, seed) => seed))(
    'seed %i: no slot held twice, no spare held by batch, nobody waits with a slot open to it',
    async (seed) => {
      const { problems } = await simulate(seed, { spares: ['s', 't'], batchShare: 0.6 });
      expect(problems).toEqual([]);
    },
  );

  test.each(Array.from({ length: 20 }, (_, seed) => 100 + seed))('seed %i: with no batch traffic, spares change nothing', async (seed) => {
    const without = await simulate(seed, { spares: [], batchShare: 0 });
    const withSpares = await simulate(seed, { spares: ['s', 't'], batchShare: 0 });
    expect(withSpares.handed).toEqual(without.handed);
    expect(withSpares.pool.spareTakes).toBe(0);
  });
});
