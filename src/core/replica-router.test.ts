import { describe, expect, test } from 'vitest';
import { RoundRobinRouter } from './replica-router.js';

const replicas = [
  { id: 'a', inFlight: 0 },
  { id: 'b', inFlight: 0 },
  { id: 'c', inFlight: 0 },
];
const ids = (list: readonly { id: string }[]) => list.map((replica) => replica.id).join('');

describe('RoundRobinRouter', () => {
  test('each request starts one replica further, and the rest follow in order', () => {
    const router = new RoundRobinRouter();
    const orders = Array.from({ length: 4 }, (_, index) => ids(router.order({ model: 'm', requestId: `r${index}` }, replicas)));
    expect(orders).toEqual(['abc', 'bca', 'cab', 'abc']);
  });

  test('models rotate independently', () => {
    const router = new RoundRobinRouter();
    expect(ids(router.order({ model: 'x', requestId: '1' }, replicas))).toBe('abc');
    expect(ids(router.order({ model: 'y', requestId: '2' }, replicas))).toBe('abc');
    expect(ids(router.order({ model: 'x', requestId: '3' }, replicas))).toBe('bca');
  });

  test('one or no candidate is returned as is, as a copy', () => {
    const router = new RoundRobinRouter();
    const single = [replicas[0]!];
    const ordered = router.order({ model: 'm', requestId: '1' }, single);
    expect(ordered).toEqual(single);
    expect(ordered).not.toBe(single);
    expect(router.order({ model: 'm', requestId: '2' }, [])).toEqual([]);
  });
});
