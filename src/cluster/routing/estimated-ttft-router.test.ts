import { describe, expect, test } from 'vitest';
import type { RoutingCandidate, RoutingOutcome, RoutingRequest } from '../../core/replica-router.js';
import { EstimatedTtftRouter, type EstimatedTtftOptions } from './estimated-ttft-router.js';

/** A router on a hand-moved clock; blocks of 400 characters (100 tokens at 4 characters a token), 1,000 tokens/s prior. */
function setup(options: Partial<EstimatedTtftOptions> = {}) {
  const clock = { now: 0 };
  const router = new EstimatedTtftRouter({ now: () => clock.now, prefixBlockChars: 400, priorTokensPerSecond: 1000, decodeWeight: 0, ...options });
  const replicas = (count: number, extra: (index: number) => Partial<RoutingCandidate> = () => ({})): RoutingCandidate[] =>
    Array.from({ length: count }, (_, index) => ({ id: `r${index}`, inFlight: 0, ...extra(index) }));
  let next = 0;
  /** A request of `blocks` keys (each 100 tokens); returns its id and the order. */
  const place = (keys: readonly string[], candidates: readonly RoutingCandidate[], extra: Partial<RoutingRequest> = {}) => {
    const requestId = `q${next++}`;
    const ordered = router.order({ model: 'm', requestId, prefixKeys: keys, promptChars: keys.length * 400, ...extra }, candidates);
    return { requestId, ordered: ordered.map((candidate) => candidate.id) };
  };
  const tell = (kind: RoutingOutcome['kind'], requestId: string, replica: string, extra: Partial<RoutingOutcome> = {}) =>
    router.observe({ kind, model: 'm', requestId, replica, ...extra });
  /** A request's whole life on `replica`: sent, first token `prefillMs` later, ended with its usage. */
  const serve = (requestId: string, replica: string, prefillMs: number, usage: { promptTokens: number; cachedTokens: number }) => {
    tell('sent', requestId, replica);
    clock.now += prefillMs;
    tell('first-token', requestId, replica);
    tell('ended', requestId, replica, usage);
  };
  return { clock, router, replicas, place, tell, serve };
}

const keys = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

describe('EstimatedTtftRouter', () => {
  test('an idle pool shares requests without keys, each replica in turn', () => {
    const { place, replicas } = setup();
    const pool = replicas(4);
    const firsts = Array.from({ length: 4 }, () => place([], pool).ordered[0]);
    expect(new Set(firsts).size).toBe(4);
  });

  test('a replica that holds the prompt goes first when queues are equal', () => {
    const { place, serve, replicas, clock } = setup();
    const pool = replicas(3);
    const first = place(keys('s', 8), pool);
    serve(first.requestId, first.ordered[0]!, 800, { promptTokens: 800, cachedTokens: 0 });
    clock.now += 10_000;
    const again = place([...keys('s', 8), 'tail'], pool);
    expect(again.ordered[0]).toBe(first.ordered[0]);
  });

  test('the queue ahead outweighs the cache when it is longer than what the cache saves', () => {
    const { place, serve, replicas, clock } = setup();
    const pool = replicas(2);
    const warm = place(keys('s', 4), pool);
    const holder = warm.ordered[0]!;
    serve(warm.requestId, holder, 400, { promptTokens: 400, cachedTokens: 0 });
    clock.now += 5000;
    // A 3 s prefill queued on the holder: sending it 3 s of work is worse than 0.5 s fresh elsewhere.
    const busy = place(keys('big', 30), [pool.find((candidate) => candidate.id === holder)!]);
    expect(busy.ordered[0]).toBe(holder);
    const next = place([...keys('s', 4), 'x'], pool);
    expect(next.ordered[0]).not.toBe(holder);
  });

  test('learns each replica speed from its first tokens: the slow one is avoided', () => {
    const { place, serve, replicas, clock } = setup();
    const pool = replicas(2);
    for (let round = 0; round < 10; round += 1) {
      for (const id of ['r0', 'r1']) {
        const placed = place(keys(`p${round}${id}`, 10), [pool.find((candidate) => candidate.id === id)!]);
        // r0 computes 1,000 tokens in 0.1 s, r1 in 2 s.
        serve(placed.requestId, id, id === 'r0' ? 100 : 2000, { promptTokens: 1000, cachedTokens: 0 });
        clock.now += 5000;
      }
    }
    const choices = Array.from({ length: 6 }, (_, index) => {
      clock.now += 10_000;
      return place(keys(`fresh${index}`, 10), pool).ordered[0];
    });
    // Even with r0's queue growing by 0.1 s per request, r1 (2 s each) never wins.
    expect(choices.every((id) => id === 'r0')).toBe(true);
  });

  test('weights set the cold-start prior: a replica 100x faster takes the first long prompts', () => {
    const { place, replicas } = setup();
    const pool = replicas(2, (index) => ({ weight: index === 0 ? 1 : 100 }));
    expect(place(keys('a', 20), pool).ordered[0]).toBe('r1');
    expect(place(keys('b', 20), pool).ordered[0]).toBe('r1');
  });

  test('learns characters per token from usage: blocks then count for what they really hold', () => {
    const { place, serve, replicas, clock, router } = setup({ priorTokensPerSecond: 100 });
    const pool = replicas(2);
    // Prompts of 8 blocks of 400 characters that the replica counts as 1,600 tokens: 2 characters a token.
    for (let round = 0; round < 30; round += 1) {
      const placed = place(keys(`u${round}`, 8), pool);
      serve(placed.requestId, placed.ordered[0]!, 16_000, { promptTokens: 1600, cachedTokens: 0 });
      clock.now += 60_000;
    }
    // The estimate of an 8-block prompt is now close to 16 s at 100 tokens/s, not 8 s.
    const probe = place(keys('probe', 8), pool);
    expect(probe.ordered).toHaveLength(2);
    expect((router as unknown as { ratioOf(model: string): { value: number } }).ratioOf('m').value).toBeLessThan(2.3);
  });

  test('the engine tried another replica: the queue moves there', () => {
    const { place, tell, replicas } = setup();
    const pool = replicas(2);
    const first = place(keys('a', 10), pool);
    const other = first.ordered[1]!;
    // The engine skipped the first (unhealthy) and sent it to the other: that one is now busy for 1 s.
    tell('sent', first.requestId, other);
    const next = place(keys('b', 10), pool);
    expect(next.ordered[0]).toBe(first.ordered[0]);
  });

  test('a request that failed before its first token frees its queue share', () => {
    const { place, tell, replicas } = setup();
    const pool = replicas(2);
    const failed = place(keys('a', 50), [pool[0]!]);
    tell('sent', failed.requestId, 'r0');
    tell('ended', failed.requestId, 'r0');
    // With r0's 5 s of queue gone, equal replicas: r0 is not avoided.
    const firsts = new Set(Array.from({ length: 2 }, (_, index) => place(keys(`n${index}`, 1), pool).ordered[0]));
    expect(firsts).toEqual(new Set(['r0', 'r1']));
  });

  test('without reports, queue estimates drain with time', () => {
    const { place, replicas, clock } = setup();
    const pool = replicas(2);
    const first = place(keys('a', 50), pool).ordered[0]!;
    expect(place(keys('b', 1), pool).ordered[0]).not.toBe(first);
    clock.now += 60_000;
    // Both idle again: the rotation decides, so each comes first in turn.
    const seen = new Set(Array.from({ length: 4 }, (_, index) => place(keys(`c${index}`, 1), pool).ordered[0]));
    expect(seen.size).toBe(2);
  });

  test("a replica's cache report replaces what the router guessed", () => {
    const { place, tell, serve, replicas, clock } = setup();
    const pool = replicas(2);
    tell('cached', '', 'r1', { prefixKeys: keys('s', 6), complete: true });
    const first = place(keys('s', 6), pool);
    expect(first.ordered[0]).toBe('r1');
    serve(first.requestId, 'r1', 100, { promptTokens: 600, cachedTokens: 600 });
    clock.now += 60_000;
    tell('cached', '', 'r1', { prefixKeys: [], complete: true });
    tell('cached', '', 'r0', { prefixKeys: keys('s', 6), complete: true });
    expect(place(keys('s', 6), pool).ordered[0]).toBe('r0');
  });

  test('a report does not drop the prompts the router sent there that have not ended (taken before they ran, it could not list them)', () => {
    const { place, tell, replicas } = setup();
    const pool = replicas(2);
    const queued = place(keys('q', 6), pool);
    const holder = queued.ordered[0]!;
    tell('sent', queued.requestId, holder);
    tell('first-token', queued.requestId, holder);
    // Still answering; the report was taken before its prefill ran.
    tell('cached', '', holder, { prefixKeys: ['other'], complete: true });
    expect(place(keys('q', 6), pool).ordered[0]).toBe(holder);
  });

  test('once that prompt ended, a report without it drops it', () => {
    const { place, tell, serve, replicas, clock } = setup();
    const pool = replicas(2);
    const done = place(keys('d', 6), pool);
    const holder = done.ordered[0]!;
    serve(done.requestId, holder, 100, { promptTokens: 600, cachedTokens: 0 });
    clock.now += 60_000;
    tell('cached', '', holder, { prefixKeys: ['other'], complete: true });
    const other = holder === 'r0' ? 'r1' : 'r0';
    tell('cached', '', other, { prefixKeys: keys('d', 6), complete: true });
    expect(place(keys('d', 6), pool).ordered[0]).toBe(other);
  });

  test('fewer cached tokens than the index promised shrink that replica index', () => {
    const { place, serve, replicas, clock, router } = setup({ indexBlocksPerReplica: 100 });
    const pool = replicas(1);
    for (let round = 0; round < 10; round += 1) {
      const placed = place(keys(`w${round}`, 8), pool);
      serve(placed.requestId, 'r0', 100, { promptTokens: 800, cachedTokens: 0 });
    }
    clock.now += 1000;
    const again = place(keys('w9', 8), pool);
    serve(again.requestId, 'r0', 100, { promptTokens: 800, cachedTokens: 0 });
    const index = (router as unknown as { index: { capacity(id: string): number } }).index;
    expect(index.capacity('r0')).toBeLessThan(100);
  });

  test('reports for requests it never placed are ignored', () => {
    const { tell, router } = setup();
    tell('first-token', 'nobody', 'r0');
    tell('ended', 'nobody', 'r0', { promptTokens: 10, cachedTokens: 0 });
    expect(router.trackedKeys).toBe(0);
  });

  test('remembers at most maxPending requests an engine never reports on', () => {
    const { place, replicas, router } = setup({ maxPending: 5 });
    const pool = replicas(2);
    for (let index = 0; index < 20; index += 1) place(keys(`k${index}`, 1), pool);
    expect((router as unknown as { pending: Map<string, unknown> }).pending.size).toBe(5);
  });

  test('refuses options that are not positive', () => {
    expect(() => new EstimatedTtftRouter({ priorTokensPerSecond: 0 })).toThrowError(/priorTokensPerSecond must be positive/);
    expect(() => new EstimatedTtftRouter({ indexBlocksPerReplica: -1 })).toThrowError(/indexBlocksPerReplica/);
  });
});
