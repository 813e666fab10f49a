import { describe, expect, test } from 'vitest';
import { planReplicas, scaleDownOrder, type ReplicaFacts, type WantedCount } from './plan-replicas.js';

const now = 1_000_000;
const chat: WantedCount = { name: 'chat', replicas: 2, mayGrow: true };
const replica = (id: string, overrides: Partial<ReplicaFacts> = {}): ReplicaFacts => ({
  id,
  deployment: 'chat',
  state: 'ready',
  lost: false,
  moving: false,
  busy: 0,
  createdAt: 0,
  ...overrides,
});

describe('planReplicas', () => {
  test('a healthy deployment needs nothing', () => {
    expect(planReplicas([chat], [replica('r1'), replica('r2')], now)).toEqual({ forget: [], place: [], relieve: [], shrink: [], retiring: new Map() });
  });

  test('a lost replica is forgotten and placed again', () => {
    const plan = planReplicas([chat], [replica('r1'), replica('r2', { lost: true })], now);
    expect(plan.forget).toEqual(['r2']);
    expect(plan.place).toEqual([{ deployment: 'chat', count: 1 }]);
  });

  test('new deployments are placed; replicas of a removed one are forgotten', () => {
    const plan = planReplicas([chat, { name: 'embed', replicas: 1, mayGrow: true }], [replica('x', { deployment: 'gone' })], now);
    expect(plan.place).toEqual([
      { deployment: 'chat', count: 2 },
      { deployment: 'embed', count: 1 },
    ]);
    expect(plan.forget).toEqual(['x']);
  });

  test('a failed replica is forgotten; in backoff it is not placed again, but a lost one is replaced', () => {
    const failed = planReplicas([{ ...chat, mayGrow: false }], [replica('r1'), replica('r2', { state: 'failed' })], now);
    expect(failed.forget).toEqual(['r2']);
    expect(failed.place).toEqual([]);
    const lost = planReplicas([{ ...chat, mayGrow: false }], [replica('r1'), replica('r2', { lost: true })], now);
    expect(lost.place).toEqual([{ deployment: 'chat', count: 1 }]);
    expect(planReplicas([{ ...chat, mayGrow: true }], [replica('r1'), replica('r2', { state: 'failed' })], now).place).toEqual([
      { deployment: 'chat', count: 1 },
    ]);
  });

  test('drain: a replacement is placed, and the moving replica goes only once the count serves elsewhere', () => {
    const starting = planReplicas([chat], [replica('r1'), replica('r2', { moving: true }), replica('r3', { state: 'assigned' })], now);
    expect(starting).toMatchObject({ place: [], relieve: [], shrink: [] });
    const first = planReplicas([chat], [replica('r1'), replica('r2', { moving: true })], now);
    expect(first.place).toEqual([{ deployment: 'chat', count: 1 }]);
    expect(first.relieve).toEqual([]);
    const done = planReplicas([chat], [replica('r1'), replica('r2', { moving: true }), replica('r3')], now);
    expect(done.relieve).toEqual(['r2']);
  });

  test('scaled down: idle surplus goes at once, busy surplus retires and goes after the timeout', () => {
    const one = { ...chat, replicas: 1 };
    expect(planReplicas([one], [replica('r1', { busy: 2 }), replica('r2')], now).shrink).toEqual(['r2']);
    const busy = planReplicas([one], [replica('r1', { busy: 2 }), replica('r2', { busy: 1 })], now);
    expect(busy.shrink).toEqual([]);
    expect([...busy.retiring]).toEqual([['r2', now]]);
    const later = planReplicas([one], [replica('r1', { busy: 2 }), replica('r2', { busy: 1, retiringSince: now - 300_000 })], now);
    expect(later.shrink).toEqual(['r2']);
    // Demand came back: it is no longer surplus, so it no longer retires.
    expect(planReplicas([chat], [replica('r1', { busy: 2 }), replica('r2', { busy: 1, retiringSince: now })], now).retiring.size).toBe(0);
  });

  test('scale-down order: not serving, then retiring, then least busy, then newest', () => {
    const order = scaleDownOrder([
      replica('busy', { busy: 3, createdAt: 1 }),
      replica('old', { createdAt: 1 }),
      replica('new', { createdAt: 2 }),
      replica('retiring', { busy: 5, retiringSince: now }),
      replica('loading', { state: 'assigned', createdAt: 0 }),
    ]);
    expect(order.map((candidate) => candidate.id)).toEqual(['loading', 'retiring', 'new', 'old', 'busy']);
  });
});
