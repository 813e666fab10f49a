import { describe, expect, test } from 'vitest';
import { EstimatedTtftRouter as ReferenceRouter } from '../../../test/support/routing-reference/estimated-ttft-router.js';
import type { RoutingCandidate, RoutingOutcome } from '../../core/replica-router.js';
import { EstimatedTtftRouter } from './estimated-ttft-router.js';

/**
 * The router was reworked for speed (typed-array index, numbered keys, no per-candidate objects);
 * its decisions must not change (but for the load cap added since, turned off here). Random runs drive the reworked router and the one before it
 * (test/support/routing-reference) through the same orders and outcomes, and every order must be
 * the same, candidate for candidate.
 */

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  seed: number;
  steps: number;
  replicas: number;
  /** Keys tracked per replica: small, so that eviction is exercised. */
  capacity: number;
  maxPending: number;
  /** Keys in the router's own base-36 form, or other strings (the index's `Map` path). */
  keyForm: 'base36' | 'names' | 'mixed';
}

function drive(run: Run): { orders: number; compared: number } {
  const next = random(run.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  let clock = 0;
  const options = { now: () => clock, indexBlocksPerReplica: run.capacity, maxPending: run.maxPending };
  const reference = new ReferenceRouter(options);
  // The load cap (decision 0025) is the one deliberate change of policy since the reference: off
  // here, everything else must decide exactly as before; load-cap.test.ts checks what it changes.
  const current = new EstimatedTtftRouter({ ...options, loadCap: 0 });
  const ids = Array.from({ length: run.replicas }, (_, index) => `worker-${index}/r`);
  const weights = ids.map(() => (next() < 0.2 ? 1 : 20));
  // A third of the replicas do not say their KV size (the router learns it); the others say one of
  // half to twice the keys tracked, in 512-token blocks, so the room left by requests in flight binds.
  const kvTokens = ids.map((_, index) => (index % 3 === 0 ? undefined : Math.ceil(run.capacity * (index % 2 === 0 ? 0.5 : 2)) * 512));
  // Prompt families share leading blocks (a system prompt, then a conversation).
  const keyOf = (family: number, block: number) => {
    const value = ((family * 7919 + block * 104729) * 2654435761) >>> 0;
    const named = run.keyForm === 'names' || (run.keyForm === 'mixed' && family % 3 === 0);
    return named ? `Family-${family}/${block}` : value.toString(36);
  };
  const live: Array<{ id: string; replica: string; firstToken: boolean }> = [];
  let orders = 0;
  let compared = 0;
  const both = (outcome: RoutingOutcome) => {
    reference.observe(outcome);
    current.observe(outcome);
  };
  for (let step = 0; step < run.steps; step += 1) {
    clock += next() < 0.3 ? 0 : Math.floor(next() * 400);
    const roll = next();
    if (roll < 0.45 || live.length === 0) {
      const candidates: RoutingCandidate[] = ids
        .filter(() => next() < 0.85)
        .map((id) => ({
          id,
          inFlight: Math.floor(next() * 6),
          ...(next() < 0.8 ? { outstandingTokens: Math.floor(next() * 8) * 1000 } : {}),
          weight: weights[ids.indexOf(id)]!,
          ...(kvTokens[ids.indexOf(id)] !== undefined ? { kvTokens: kvTokens[ids.indexOf(id)]! } : {}),
        }));
      const family = Math.floor(next() * 12);
      const blocks = 1 + Math.floor(next() * 24);
      const prefixKeys = next() < 0.1 ? undefined : Array.from({ length: blocks }, (_, block) => keyOf(block < 4 ? family % 3 : family, block));
      const request = {
        model: pick(['a', 'b']),
        requestId: `r${step % 97 === 0 ? 0 : step}`,
        ...(prefixKeys ? { prefixKeys } : {}),
        ...(next() < 0.9 ? { promptChars: blocks * 2048 - Math.floor(next() * 2000) } : {}),
        // Prompt plus output budget: the output's blocks are held while it runs.
        ...(next() < 0.7 ? { tokens: blocks * 512 + Math.floor(next() * 3000) } : {}),
      };
      const expected = reference.order(request, candidates).map((candidate) => candidate.id);
      const actual = current.order(request, candidates).map((candidate) => candidate.id);
      expect(actual, `order ${orders} of seed ${run.seed}`).toEqual(expected);
      orders += 1;
      compared += expected.length;
      if (expected.length > 0) live.push({ id: request.requestId, replica: expected[0]!, firstToken: false });
    } else if (roll < 0.6) {
      const request = pick(live);
      // Sometimes the engine moves it to another replica (the first failed).
      if (next() < 0.2) request.replica = pick(ids);
      both({ kind: 'sent', model: 'a', requestId: request.id, replica: request.replica });
    } else if (roll < 0.78) {
      const request = pick(live);
      request.firstToken = true;
      both({ kind: 'first-token', model: 'a', requestId: request.id, replica: request.replica });
    } else if (roll < 0.93) {
      const index = Math.floor(next() * live.length);
      const request = live[index]!;
      live.splice(index, 1);
      const failed = next() < 0.15;
      const promptTokens = 1 + Math.floor(next() * 12_000);
      both({
        kind: 'ended',
        model: 'a',
        requestId: request.id,
        replica: request.replica,
        ...(failed ? {} : { promptTokens, ...(next() < 0.7 ? { cachedTokens: Math.floor(next() * promptTokens) } : {}) }),
      });
    } else {
      const family = Math.floor(next() * 12);
      const prefixKeys = Array.from({ length: Math.floor(next() * 40) }, (_, block) => keyOf(family + block, block % 5));
      // Complete reports only: a bounded one now merges differently on purpose (decision 0012).
      both({ kind: 'cached', model: 'a', requestId: '', replica: pick(ids), prefixKeys, complete: true });
    }
    expect(current.trackedKeys).toBe(reference.trackedKeys);
  }
  return { orders, compared };
}

describe('estimated-ttft: the reworked router orders exactly as the one before it', () => {
  const runs: Run[] = [
    { seed: 1, steps: 3000, replicas: 8, capacity: 40, maxPending: 50, keyForm: 'base36' },
    { seed: 2, steps: 3000, replicas: 16, capacity: 200, maxPending: 10_000, keyForm: 'base36' },
    { seed: 3, steps: 3000, replicas: 3, capacity: 8, maxPending: 5, keyForm: 'mixed' },
    { seed: 4, steps: 2000, replicas: 64, capacity: 64, maxPending: 300, keyForm: 'names' },
    { seed: 5, steps: 3000, replicas: 12, capacity: 16, maxPending: 30, keyForm: 'mixed' },
  ];
  for (const run of runs) {
    test(`seed ${run.seed}: ${run.replicas} replicas, ${run.capacity} keys each, ${run.keyForm} keys`, () => {
      const { orders, compared } = drive(run);
      // The run placed requests and compared whole orders, not empty ones.
      expect(orders).toBeGreaterThan(run.steps / 4);
      expect(compared).toBeGreaterThan(orders * run.replicas * 0.5);
    });
  }
});
