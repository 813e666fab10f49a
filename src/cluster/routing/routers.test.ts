import { describe, expect, test } from 'vitest';
import type { RoutingCandidate, RoutingRequest } from '../../core/replica-router.js';
import { createRouter, parseRoutingPolicy, routingPolicies } from './create-router.js';
import { HashRing, hash32 } from './hash-ring.js';
import { LeastOutstandingTokensRouter } from './least-outstanding-tokens-router.js';
import { PrefixCacheRouter } from './prefix-cache-router.js';
import { SessionAffinityRouter } from './session-affinity-router.js';

const pool = (count: number, load: (index: number) => Partial<RoutingCandidate> = () => ({})): RoutingCandidate[] =>
  Array.from({ length: count }, (_, index) => ({ id: `r${index}`, inFlight: 0, ...load(index) }));
const request = (extra: Partial<RoutingRequest> = {}): RoutingRequest => ({ model: 'm', requestId: 'x', ...extra });
const first = (ordered: readonly RoutingCandidate[]) => ordered[0]!.id;

// One suite, every policy: the contract the engines rely on.
describe.each(routingPolicies)('%s router: the ReplicaRouter contract', (policy) => {
  test('returns every candidate exactly once, as a new array', () => {
    const router = createRouter(policy);
    const candidates = pool(5);
    for (const extra of [{}, { prefixKeys: ['a', 'b'] }, { sessionKey: 'u1' }]) {
      const ordered = router.order(request(extra), candidates);
      expect(ordered).not.toBe(candidates);
      expect(ordered.map((candidate) => candidate.id).sort()).toEqual(candidates.map((candidate) => candidate.id));
    }
  });

  test('one candidate or none comes back as is', () => {
    const router = createRouter(policy);
    expect(router.order(request(), [])).toEqual([]);
    expect(router.order(request({ prefixKeys: ['a'] }), pool(1))).toEqual(pool(1));
  });

  test('spreads requests without keys over all replicas when they are idle', () => {
    const router = createRouter(policy);
    const seen = new Set(Array.from({ length: 8 }, (_, index) => first(router.order(request({ requestId: String(index) }), pool(4)))));
    expect(seen.size).toBe(4);
  });

  test('keeps the candidate objects it was given (engines call methods on them)', () => {
    const candidates = pool(3);
    const ordered = createRouter(policy).order(request({ prefixKeys: ['k'], sessionKey: 's' }), candidates);
    expect(ordered).toHaveLength(candidates.length);
    for (const candidate of ordered) expect(candidates).toContain(candidate);
  });
});

describe('HashRing', () => {
  test('hash32 is stable and spreads', () => {
    expect(hash32('abc')).toBe(hash32('abc'));
    expect(hash32('abc')).not.toBe(hash32('abd'));
  });

  test('each replica owns a fair share of keys', () => {
    const ring = new HashRing(['a', 'b', 'c', 'd']);
    const counts = new Map<string, number>();
    for (let key = 0; key < 8000; key += 1) {
      const owner = ring.walk(`key${key}`)[0]!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    // Every replica owns keys (one with none would be missing from the map, not below the bar).
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
    for (const count of counts.values()) expect(count).toBeGreaterThan(1400);
  });

  test('removing a replica moves only the keys it owned', () => {
    const before = new HashRing(['a', 'b', 'c', 'd']);
    const after = new HashRing(['a', 'b', 'c']);
    let moved = 0;
    for (let key = 0; key < 2000; key += 1) {
      const owner = before.walk(`k${key}`)[0];
      if (owner !== 'd' && after.walk(`k${key}`)[0] !== owner) moved += 1;
    }
    expect(moved).toBe(0);
  });

  test('an empty ring walks nowhere', () => {
    expect(new HashRing([]).walk('x')).toEqual([]);
  });
});

describe('PrefixCacheRouter (CHWBL)', () => {
  test('the same leading blocks reach the same replica; later blocks do not matter', () => {
    const router = new PrefixCacheRouter({ prefixBlocks: 2 });
    const a = first(router.order(request({ prefixKeys: ['1', '2', '3'] }), pool(8)));
    const b = first(router.order(request({ prefixKeys: ['1', '2', '99', '100'] }), pool(8)));
    expect(a).toBe(b);
  });

  test('different prefixes spread over the replicas', () => {
    const router = new PrefixCacheRouter();
    const owners = new Set(Array.from({ length: 200 }, (_, index) => first(router.order(request({ prefixKeys: [`p${index}`] }), pool(8)))));
    expect(owners.size).toBe(8);
  });

  test('a replica above loadFactor x mean is skipped for the next one on the ring', () => {
    const router = new PrefixCacheRouter({ loadFactor: 1.25 });
    const keys = { prefixKeys: ['hot'] };
    const owner = first(router.order(request(keys), pool(4)));
    // Owner has 6 of 8 in flight: (6+1) > 1.25 x (8+1)/4.
    const loaded = pool(4, (index) => ({ inFlight: `r${index}` === owner ? 6 : index === 0 && owner !== 'r0' ? 2 : 0 }));
    const next = first(router.order(request(keys), loaded));
    expect(next).not.toBe(owner);
  });

  test('a slightly busy owner still gets its prefix (the bound is a bound, not least-loaded)', () => {
    const router = new PrefixCacheRouter({ loadFactor: 1.25 });
    const keys = { prefixKeys: ['warm'] };
    const owner = first(router.order(request(keys), pool(4)));
    // The owner holds 2, another replica only 1, the rest 3: least-loaded would leave the owner, the
    // bound (2 + 1 <= 1.25 x (9 + 1) / 4) keeps it.
    const others = pool(4)
      .map((candidate) => candidate.id)
      .filter((id) => id !== owner);
    const loads = new Map([
      [owner, 2],
      [others[0]!, 1],
      [others[1]!, 3],
      [others[2]!, 3],
    ]);
    const loaded = pool(4, (index) => ({ inFlight: loads.get(`r${index}`)! }));
    expect(first(router.order(request(keys), loaded))).toBe(owner);
    expect(first(createRouter('least-outstanding-tokens').order(request(keys), loaded))).not.toBe(owner);
  });

  test('one hot prefix under load fans out to a few replicas, not one', () => {
    const router = new PrefixCacheRouter({ loadFactor: 1.25 });
    const inFlight = new Map<string, number>();
    for (let index = 0; index < 40; index += 1) {
      const candidates = pool(8).map((candidate) => ({ ...candidate, inFlight: inFlight.get(candidate.id) ?? 0 }));
      const chosen = first(router.order(request({ prefixKeys: ['system-prompt'] }), candidates));
      inFlight.set(chosen, (inFlight.get(chosen) ?? 0) + 1);
    }
    expect(Math.max(...inFlight.values())).toBeLessThanOrEqual(Math.ceil((1.25 * 40) / 8) + 1);
  });

  test('weights: a slow replica is within the bound only when it is much less loaded', () => {
    const router = new PrefixCacheRouter();
    const candidates = [
      { id: 'gpu-a', inFlight: 4, weight: 20 },
      { id: 'gpu-b', inFlight: 4, weight: 20 },
      { id: 'cpu', inFlight: 0, weight: 1 },
    ];
    for (let key = 0; key < 50; key += 1) expect(first(router.order(request({ prefixKeys: [`k${key}`] }), candidates))).not.toBe('cpu');
  });

  test('without prefix keys it sends to the replica with the least outstanding work', () => {
    const router = new PrefixCacheRouter();
    expect(
      first(
        router.order(
          request(),
          pool(3, (index) => ({ inFlight: [3, 0, 2][index]! })),
        ),
      ),
    ).toBe('r1');
  });

  test('models hash apart: one prefix of two models lands independently', () => {
    const router = new PrefixCacheRouter();
    const owners = new Set(Array.from({ length: 20 }, (_, index) => first(router.order(request({ model: `model${index}`, prefixKeys: ['same'] }), pool(8)))));
    expect(owners.size).toBeGreaterThan(1);
  });

  test('bad options are refused with the fix', () => {
    expect(() => new PrefixCacheRouter({ loadFactor: 0.5 })).toThrow(/at least 1/);
    expect(() => new PrefixCacheRouter({ prefixBlocks: 0 })).toThrow(/prefixBlocks/);
  });
});

describe('LeastOutstandingTokensRouter', () => {
  test('the replica with the fewest outstanding tokens goes first', () => {
    const router = new LeastOutstandingTokensRouter();
    const candidates = pool(3, (index) => ({ outstandingTokens: [5000, 200, 900][index]!, inFlight: [1, 5, 1][index]! }));
    expect(router.order(request(), candidates).map((candidate) => candidate.id)).toEqual(['r1', 'r2', 'r0']);
  });

  test('tokens are divided by weight: a fast replica with more work can still be first', () => {
    const router = new LeastOutstandingTokensRouter();
    const candidates = [
      { id: 'cpu', inFlight: 1, outstandingTokens: 500, weight: 1 },
      { id: 'gpu', inFlight: 3, outstandingTokens: 4000, weight: 20 },
    ];
    expect(first(router.order(request(), candidates))).toBe('gpu');
  });

  test('falls back to in-flight requests when tokens are unknown', () => {
    expect(
      first(
        new LeastOutstandingTokensRouter().order(
          request(),
          pool(3, (index) => ({ inFlight: [2, 1, 3][index]! })),
        ),
      ),
    ).toBe('r1');
  });
});

describe('SessionAffinityRouter', () => {
  test('one session always reaches the same replica, whatever the load', () => {
    const router = new SessionAffinityRouter();
    const owner = first(router.order(request({ sessionKey: 'alice' }), pool(6)));
    const busy = pool(6, (index) => ({ inFlight: `r${index}` === owner ? 50 : 0 }));
    expect(first(router.order(request({ sessionKey: 'alice' }), busy))).toBe(owner);
  });

  test('sessions spread, and losing a replica moves only its sessions', () => {
    const router = new SessionAffinityRouter();
    const before = new Map(Array.from({ length: 100 }, (_, index) => [index, first(router.order(request({ sessionKey: `u${index}` }), pool(5)))]));
    expect(new Set(before.values()).size).toBe(5);
    const without = pool(5).filter((candidate) => candidate.id !== 'r2');
    for (const [index, owner] of before) {
      if (owner !== 'r2') expect(first(router.order(request({ sessionKey: `u${index}` }), without))).toBe(owner);
    }
  });

  test('no session: round-robin', () => {
    const router = new SessionAffinityRouter();
    expect([0, 1, 2, 3].map(() => first(router.order(request(), pool(3))))).toEqual(['r0', 'r1', 'r2', 'r0']);
  });
});

describe('createRouter / parseRoutingPolicy', () => {
  test('names map to policies; unknown names list the valid ones', () => {
    expect(parseRoutingPolicy('prefix-cache')).toBe('prefix-cache');
    expect(() => parseRoutingPolicy('random')).toThrow(/round-robin, least-outstanding-tokens, prefix-cache, session-affinity/);
    expect(() => createRouter('nope' as never)).toThrow(/unknown routing policy/);
  });
});
