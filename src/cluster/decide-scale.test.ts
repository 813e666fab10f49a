import { describe, expect, test } from 'vitest';
import { decideScale, defaultAutoscale, measureDemand, type ScaleInput } from './decide-scale.js';

const spec = { minReplicas: 0, maxReplicas: 4, targetQueuePerReplica: 2, scaleDownDelayMs: 60_000 };
const now = 1_000_000;

/** A deployment of one ready replica with no demand, quiet for no time at all; tests override what they vary. */
function input(overrides: Partial<ScaleInput> = {}): ScaleInput {
  return { spec, current: 1, ready: 1, starting: 0, demand: 0, held: 0, lastAboveTargetAt: now, lastScaleAt: now, now, room: 10, ...overrides };
}

describe('decideScale: up', () => {
  test('demand per replica above target adds replicas: ceil(demand / target)', () => {
    expect(decideScale(input({ demand: 3 }))).toMatchObject({ replicas: 2, busy: true });
    expect(decideScale(input({ demand: 7 })).replicas).toBe(4);
    expect(decideScale(input({ demand: 7 })).reason).toBe('demand 7 on 1 ready replica passes the target of 2 per replica');
  });

  test('demand at the target is not above it', () => {
    expect(decideScale(input({ demand: 2 }))).toMatchObject({ replicas: 1, busy: true });
    expect(decideScale(input({ current: 2, ready: 2, demand: 4 })).replicas).toBe(2);
  });

  test('capped by the maximum, and says so', () => {
    const decision = decideScale(input({ current: 4, ready: 4, demand: 40 }));
    expect(decision.replicas).toBe(4);
    expect(decision.reason).toContain('at the maximum of 4');
    expect(decideScale(input({ demand: 40 })).replicas).toBe(4);
  });

  test('capped by the room the pool has', () => {
    expect(decideScale(input({ demand: 40, room: 1 })).replicas).toBe(2);
    const full = decideScale(input({ demand: 40, room: 0 }));
    expect(full.replicas).toBe(1);
    expect(full.reason).toContain('no room for another replica');
  });

  test('replicas still starting count: they are not asked for twice', () => {
    expect(decideScale(input({ current: 2, ready: 1, starting: 1, demand: 4 })).replicas).toBe(2);
    expect(decideScale(input({ current: 2, ready: 1, starting: 1, demand: 5 })).replicas).toBe(3);
  });

  test('a fractional target works (half a request per replica: two replicas per request)', () => {
    expect(decideScale(input({ spec: { ...spec, targetQueuePerReplica: 0.5 }, demand: 2 })).replicas).toBe(4);
  });
});

describe('decideScale: from zero', () => {
  test('a held request at zero replicas asks for one', () => {
    const decision = decideScale(input({ current: 0, ready: 0, demand: 1, held: 1 }));
    expect(decision).toMatchObject({ replicas: 1, reason: '1 request held at zero replicas' });
  });

  test('many held requests ask for as many replicas as the target needs, within max and room', () => {
    expect(decideScale(input({ current: 0, ready: 0, demand: 5, held: 5 })).replicas).toBe(3);
    expect(decideScale(input({ current: 0, ready: 0, demand: 50, held: 50 })).replicas).toBe(4);
    expect(decideScale(input({ current: 0, ready: 0, demand: 5, held: 5, room: 1 })).replicas).toBe(1);
  });

  test('at zero with no room, one replica is still wanted so the refusal is visible', () => {
    expect(decideScale(input({ current: 0, ready: 0, demand: 1, held: 1, room: 0 })).replicas).toBe(1);
  });

  test('at zero with no demand nothing happens', () => {
    expect(decideScale(input({ current: 0, ready: 0 }))).toMatchObject({ replicas: 0, busy: true });
  });
});

describe('decideScale: down', () => {
  test('demand below target does nothing before the delay', () => {
    const decision = decideScale(input({ current: 3, ready: 3, demand: 1, lastAboveTargetAt: now - 59_999, lastScaleAt: now - 100_000 }));
    expect(decision).toMatchObject({ replicas: 3, busy: false });
    expect(decision.reason).toContain('below target for 60 s of 60 s');
  });

  test('after the delay one replica goes, not all at once', () => {
    const decision = decideScale(input({ current: 3, ready: 3, demand: 1, lastAboveTargetAt: now - 60_000, lastScaleAt: now - 100_000 }));
    expect(decision.replicas).toBe(2);
    expect(decision.reason).toBe('demand 1 on 3 ready replicas stayed below the target of 2 per replica for 60 s');
  });

  test('the delay runs from the last scale too, so steps down are a delay apart', () => {
    expect(decideScale(input({ current: 2, ready: 2, lastAboveTargetAt: now - 120_000, lastScaleAt: now - 30_000 })).replicas).toBe(2);
    expect(decideScale(input({ current: 2, ready: 2, lastAboveTargetAt: now - 120_000, lastScaleAt: now - 60_000 })).replicas).toBe(1);
  });

  test('idle with min 0 scales to zero after the delay', () => {
    const decision = decideScale(input({ lastAboveTargetAt: now - 60_000, lastScaleAt: now - 60_000 }));
    expect(decision).toMatchObject({ replicas: 0, reason: 'idle for 60 s: scaled to zero' });
  });

  test('never below the minimum', () => {
    const quiet = { lastAboveTargetAt: now - 600_000, lastScaleAt: now - 600_000 };
    expect(decideScale(input({ spec: { ...spec, minReplicas: 1 }, ...quiet })).replicas).toBe(1);
    expect(decideScale(input({ spec: { ...spec, minReplicas: 2 }, current: 2, ready: 2, ...quiet })).replicas).toBe(2);
  });

  test('demand that still needs every replica keeps them, and counts as busy', () => {
    const decision = decideScale(input({ current: 2, ready: 2, demand: 3, lastAboveTargetAt: now - 600_000, lastScaleAt: now - 600_000 }));
    expect(decision).toMatchObject({ replicas: 2, busy: true });
  });
});

describe('decideScale: range', () => {
  test('a count below the minimum is raised to it, above the maximum lowered to it', () => {
    expect(decideScale(input({ spec: { ...spec, minReplicas: 2 }, current: 0, ready: 0 }))).toMatchObject({
      replicas: 2,
      reason: 'raised to the minimum of 2',
    });
    expect(decideScale(input({ current: 6, ready: 6, demand: 100 }))).toMatchObject({ replicas: 4, reason: 'lowered to the maximum of 4' });
  });

  test('the defaults are a target of 2, a minute down, two minutes from zero', () => {
    expect(defaultAutoscale).toEqual({ targetQueuePerReplica: 2, scaleDownDelayMs: 60_000, scaleFromZeroTimeoutMs: 120_000 });
  });

  test('steady load changes nothing and says so', () => {
    expect(decideScale(input({ current: 2, ready: 2, demand: 3 })).reason).toBe('demand 3 on 2 ready replicas: steady');
  });
});

describe('measureDemand', () => {
  test('the larger of the requests seen here and those the hosts report, plus those held', () => {
    expect(measureDemand(3, [1, 1], 0)).toBe(3);
    expect(measureDemand(1, [2, 1.5], 0)).toBe(3.5);
    expect(measureDemand(0, [], 2)).toBe(2);
    expect(measureDemand(2, [4], 1)).toBe(5);
  });
});
