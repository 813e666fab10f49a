import { describe, expect, test } from 'vitest';
import type { EmergencyStop } from '../core/device-store.js';
import { alertRules, budgetHigh, deploymentUnplaceable, estopEngaged, workerLost, type BudgetInput, type WorkerInput } from './alert-rules.js';

const worker = (overrides: Partial<WorkerInput> = {}): WorkerInput => ({ name: 'w1', state: 'ready', silentMs: 200, replicas: [], ...overrides });
const budget = (overrides: Partial<BudgetInput> = {}): BudgetInput => ({
  tenantId: 'acme',
  name: 'costPerDayUsd',
  limit: 1_000_000_000,
  used: 0,
  resetsAt: Date.UTC(2026, 11, 8),
  ...overrides,
});
const stop = (overrides: Partial<EmergencyStop> = {}): EmergencyStop => ({
  tenantId: 'acme',
  active: true,
  reason: 'smoke in the lab',
  changedBy: 'key:key_1',
  changedAt: 1,
  ...overrides,
});

describe('every rule', () => {
  test('one rule per kind, and each answers undefined when its input was not read', () => {
    expect(new Set(alertRules.map((rule) => rule.kind)).size).toBe(alertRules.length);
    for (const rule of alertRules) expect(rule.evaluate({})).toBeUndefined();
  });

  test('an input read and empty: nothing holds (so the kind resolves what it had)', () => {
    const inputs = { workers: [], deployments: [], budgets: [], stops: [] };
    for (const rule of alertRules) expect(rule.evaluate(inputs)).toEqual([]);
  });
});

describe('worker lost', () => {
  test('only unreachable workers, draining ones included, each its own subject with a link to it', () => {
    const found = workerLost.evaluate({
      workers: [
        worker(),
        worker({ name: 'w2', state: 'unreachable', silentMs: 12_400 }),
        worker({ name: 'w3', state: 'draining' }),
        worker({ name: 'w 4', state: 'unreachable' }),
      ],
    });
    expect(found?.map((condition) => condition.subject)).toEqual(['w2', 'w 4']);
    expect(found?.[0]).toMatchObject({ kind: 'worker_lost', tenantId: null, link: '/workers?worker=w2' });
    expect(found?.[0]?.message).toContain('no heartbeat for 12 s');
    expect(found?.[1]?.link).toBe('/workers?worker=w%204');
  });
});

describe('deployment that cannot place', () => {
  test('missing replicas with a reason fire; missing without one (still placing) and full ones do not', () => {
    const found = deploymentUnplaceable.evaluate({
      deployments: [
        { name: 'full', replicas: 2, placed: [1, 2] },
        { name: 'placing', replicas: 2, placed: [1] },
        { name: 'stuck', replicas: 3, placed: [1], refusal: 'no worker has 4.1 GiB free' },
        // A reason left over once every replica is placed is not a condition.
        { name: 'stale', replicas: 1, placed: [1], refusal: 'old' },
        { name: 'zero', replicas: 1, placed: [], refusal: 'no worker joined' },
      ],
    });
    expect(found?.map((condition) => condition.subject)).toEqual(['stuck', 'zero']);
    expect(found?.[0]?.message).toBe('Deployment stuck has 1 of 3 replicas placed: no worker has 4.1 GiB free');
    expect(found?.[0]?.link).toBe('/models?deployment=stuck');
  });
});

describe('budget at 80%', () => {
  test('at or above 80% of a day or month budget; below it, or a budget of 0, not', () => {
    const budgets = [
      budget({ used: 799_999_999 }),
      budget({ tenantId: 'beta', used: 800_000_000 }),
      budget({ tenantId: 'gamma', used: 1_500_000_000 }),
      budget({ tenantId: 'delta', limit: 0, used: 0 }),
    ];
    const found = budgetHigh.evaluate({ budgets });
    expect(found?.map((condition) => condition.subject)).toEqual(['beta/cost_per_day_usd', 'gamma/cost_per_day_usd']);
    expect(found?.[0]).toMatchObject({ kind: 'budget_high', tenantId: 'beta', link: '/usage?tenant=beta' });
    expect(found?.[0]?.message).toBe('Tenant beta has used 80% of its cost per day budget ($0.80 of $1.00); it resets at 2026-12-08 00:00 UTC.');
    expect(found?.[1]?.message).toContain('150%');
  });

  test('tokens and months by name; a tenant with two budgets high has two alerts', () => {
    const found = budgetHigh.evaluate({
      budgets: [budget({ name: 'tokensPerMonth', limit: 1000, used: 900, resetsAt: null }), budget({ name: 'costPerMonthUsd', used: 950_000_000 })],
    });
    expect(found?.map((condition) => condition.subject)).toEqual(['acme/tokens_per_month', 'acme/cost_per_month_usd']);
    expect(found?.[0]?.message).toBe('Tenant acme has used 90% of its tokens per month budget (900 tokens of 1000 tokens).');
  });

  test('rates per minute are not budgets: never an alert', () => {
    expect(
      budgetHigh.evaluate({ budgets: [budget({ name: 'tokensPerMinute', limit: 10, used: 10 }), budget({ name: 'requestsPerMinute', limit: 1, used: 1 })] }),
    ).toEqual([]);
  });
});

describe('emergency stop', () => {
  test('engaged stops fire per tenant, with who and why; cleared ones do not', () => {
    const found = estopEngaged.evaluate({ stops: [stop(), stop({ tenantId: 'beta', active: false })] });
    expect(found).toEqual([
      {
        kind: 'estop_engaged',
        subject: 'acme',
        tenantId: 'acme',
        message: 'The emergency stop of tenant acme is engaged (by key:key_1: smoke in the lab); device actions are refused until it is cleared.',
        link: '/devices',
      },
    ]);
  });
});
