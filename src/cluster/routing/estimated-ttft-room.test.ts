import { describe, expect, test } from 'vitest';
import type { RoutingCandidate, RoutingOutcome } from '../../core/replica-router.js';
import { EstimatedTtftRouter } from './estimated-ttft-router.js';

/**
 * What estimated-ttft assumes a replica caches, bounded by its KV memory less what runs there
 * (decision 0026). Blocks of 400 characters: 100 tokens at the prior 4 characters a token.
 */
function setup(indexBlocksPerReplica = 8192) {
  const clock = { now: 0 };
  const router = new EstimatedTtftRouter({ now: () => clock.now, prefixBlockChars: 400, priorTokensPerSecond: 1000, decodeWeight: 0, indexBlocksPerReplica });
  const index = (router as unknown as { index: { match(keys: readonly string[], replicas: readonly string[]): number[]; capacity(id: string): number } }).index;
  let next = 0;
  /** Places a prompt of `keys` (100 tokens each) with `output` tokens to write on the first of `pool`. */
  const place = (keys: readonly string[], pool: readonly RoutingCandidate[], output = 0) => {
    const requestId = `q${next++}`;
    const ordered = router.order({ model: 'm', requestId, prefixKeys: keys, promptChars: keys.length * 400, tokens: keys.length * 100 + output }, pool);
    return { requestId, replica: ordered[0]!.id };
  };
  const tell = (kind: RoutingOutcome['kind'], placed: { requestId: string; replica: string }, extra: Partial<RoutingOutcome> = {}) =>
    router.observe({ kind, model: 'm', requestId: placed.requestId, replica: placed.replica, ...extra });
  const held = (keys: readonly string[], replica: string) => index.match(keys, [replica])[0];
  return { clock, router, index, place, tell, held };
}

const keys = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);
/** A replica with KV memory for 100 blocks of 100 tokens. */
const told: RoutingCandidate = { id: 'r0', inFlight: 0, kvTokens: 10_000 };

describe('estimated-ttft: the cache room a replica has beside what runs there', () => {
  test('a replica that says its KV size loses the oldest cache to the requests sent there, and gets the room back', () => {
    const { router, index, place, tell, held } = setup();
    const a = place(keys('a', 20), [told]);
    tell('sent', a);
    tell('first-token', a);
    tell('ended', a, { promptTokens: 2000, cachedTokens: 0 });
    expect(held(keys('a', 20), 'r0')).toBe(20);
    // 80 blocks of prompt and 3 of output in flight leave 17 of the 100 for the cache: A's tail goes.
    const b = place(keys('b', 80), [told], 300);
    tell('sent', b);
    expect(index.capacity('r0')).toBe(17);
    expect(held(keys('a', 20), 'r0')).toBe(17);
    // Its prompt is computed: its keys are cache now, only its output is held; then it ends.
    tell('first-token', b);
    expect(index.capacity('r0')).toBe(97);
    expect(held(keys('b', 80), 'r0')).toBe(80);
    expect(held(keys('a', 20), 'r0')).toBe(17);
    tell('ended', b, { promptTokens: 8000, cachedTokens: 0 });
    expect(index.capacity('r0')).toBe(100);
    expect(router.trackedKeys).toBe(97);
  });

  test('told its KV size, a prompt goes back to the cache at its end, the most recent; not told, it stays where its first token put it (decision 0027)', () => {
    const { place, tell, held } = setup();
    // A's first token, then B's; B ends, then A (a longer answer): A's blocks are freed last.
    const a = place(keys('a', 30), [told]);
    tell('first-token', a);
    const b = place(keys('b', 30), [told]);
    tell('first-token', b);
    tell('ended', b, { promptTokens: 3000, cachedTokens: 0 });
    tell('ended', a, { promptTokens: 3000, cachedTokens: 0 });
    // 60 blocks in flight leave 40 for the cache: the least recently freed, B, loses its tail.
    place(keys('c', 60), [told]);
    expect(held(keys('a', 30), 'r0')).toBe(30);
    expect(held(keys('b', 30), 'r0')).toBe(10);

    const learned = setup(70);
    const unknown: RoutingCandidate = { id: 'r1', inFlight: 0 };
    const x = learned.place(keys('x', 30), [unknown]);
    learned.tell('first-token', x);
    const y = learned.place(keys('y', 30), [unknown]);
    learned.tell('first-token', y);
    learned.tell('ended', y, { promptTokens: 3000, cachedTokens: 0 });
    learned.tell('ended', x, { promptTokens: 3000, cachedTokens: 0 });
    learned.place(keys('z', 30), [unknown]);
    expect(learned.held(keys('x', 30), 'r1')).toBe(10);
    expect(learned.held(keys('y', 30), 'r1')).toBe(30);
  });

  test('told its KV size, the router indexes a prompt once computed; not told, from its send (decision 0012)', () => {
    const { router, place, tell, held } = setup();
    const unknown: RoutingCandidate = { id: 'r1', inFlight: 0 };
    const x = place(keys('x', 8), [told]);
    expect(router.trackedKeys).toBe(0);
    const y = place(keys('y', 8), [unknown]);
    expect(held(keys('y', 8), 'r1')).toBe(8);
    tell('first-token', x);
    expect(held(keys('x', 8), 'r0')).toBe(8);
    tell('first-token', y);
    expect(router.trackedKeys).toBe(16);
  });

  test('a prompt that matched part of the cache keeps that part at once: it is in use again', () => {
    const { place, tell, held } = setup();
    const a = place(keys('s', 6), [told]);
    tell('first-token', a);
    tell('ended', a, { promptTokens: 600, cachedTokens: 0 });
    // A filler fills the rest, newer than the shared prefix.
    const filler = place(keys('f', 90), [told]);
    tell('first-token', filler);
    tell('ended', filler, { promptTokens: 9000, cachedTokens: 0 });
    expect(held(keys('s', 6), 'r0')).toBe(6);
    // The next prompt shares the 6 blocks: they become the newest, so the 12 blocks it holds take the filler's.
    const b = place([...keys('s', 6), ...keys('t', 4)], [told], 800);
    tell('sent', b);
    expect(held(keys('s', 6), 'r0')).toBe(6);
    expect(held(keys('f', 90), 'r0')).toBe(82);
  });

  test('not told its KV size, the learned bound is all for the index (decision 0012): requests in flight take none of it', () => {
    const { router, index, place, tell, held } = setup(40);
    const unknown: RoutingCandidate = { id: 'r0', inFlight: 0 };
    const a = place(keys('a', 8), [unknown]);
    tell('first-token', a);
    tell('ended', a, { promptTokens: 800, cachedTokens: 0 });
    // 30 keys indexed at send, and the 3 output blocks leave the 40 as they were.
    place(keys('b', 30), [unknown], 300);
    expect(index.capacity('r0')).toBe(40);
    expect(router.trackedKeys).toBe(38);
    expect(held(keys('a', 8), 'r0')).toBe(8);
  });

  test('a try that failed, or a request the engine moved, gives its room back', () => {
    const { index, place, tell } = setup();
    const other: RoutingCandidate = { id: 'r1', inFlight: 0, kvTokens: 10_000 };
    const failed = place(keys('a', 20), [told], 500);
    tell('sent', failed);
    expect(index.capacity('r0')).toBe(75);
    tell('ended', failed);
    expect(index.capacity('r0')).toBe(100);
    const moved = place(keys('b', 20), [told, other], 500);
    const elsewhere = moved.replica === 'r0' ? 'r1' : 'r0';
    expect(index.capacity(moved.replica)).toBe(75);
    tell('sent', { ...moved, replica: elsewhere });
    expect(index.capacity(moved.replica)).toBe(100);
    expect(index.capacity(elsewhere)).toBe(75);
  });

  test('a KV size told after the replica was first offered (a worker’s heartbeat) is read at the next order, and dropped when no longer told', () => {
    const { router, index, place, tell, held } = setup(40);
    // The same candidate object, as the pool engine offers it, its size set later.
    const replica: { id: string; inFlight: number; kvTokens?: number } = { id: 'r0', inFlight: 0 };
    const a = place(keys('a', 8), [replica]);
    // Not told: indexed at its send, within the learned 40.
    expect(held(keys('a', 8), 'r0')).toBe(8);
    tell('first-token', a);
    tell('ended', a, { promptTokens: 800, cachedTokens: 0 });
    replica.kvTokens = 2_000;
    const b = place(keys('b', 10), [replica], 500);
    // Told: 20 blocks less b's 10 not yet computed and 5 of output leave 5, under the floor of 16; b's keys wait for its first token.
    expect(index.capacity('r0')).toBe(16);
    expect(held(keys('b', 10), 'r0')).toBe(0);
    tell('first-token', b);
    expect(held(keys('b', 10), 'r0')).toBe(10);
    tell('ended', b, { promptTokens: 1000, cachedTokens: 0 });
    expect(index.capacity('r0')).toBe(20);
    delete replica.kvTokens;
    place(keys('c', 4), [replica]);
    expect(index.capacity('r0')).toBe(40);
    expect(router.trackedKeys).toBeLessThanOrEqual(40);
  });
});
