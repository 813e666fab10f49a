import { describe, expect, test } from 'vitest';
import { alertKey, type AlertCondition, type AlertKind, type AlertRecord } from '../core/alerts.js';
import { planAlerts } from './plan-alerts.js';

const condition = (kind: AlertKind, subject: string, message = `${kind} ${subject}`): AlertCondition => ({
  kind,
  subject,
  tenantId: null,
  message,
  link: '/x',
});
const firing = (kind: AlertKind, subject: string, message?: string): AlertRecord => ({
  ...condition(kind, subject, message),
  key: alertKey(kind, subject),
  state: 'firing',
  firstSeenAt: 1,
  lastSeenAt: 1,
  resolvedAt: null,
  fired: 1,
});

describe('planAlerts', () => {
  test('new conditions fire; held ones are seen; gone ones resolve', () => {
    const plan = planAlerts(
      [firing('worker_lost', 'a'), firing('worker_lost', 'b')],
      new Map([['worker_lost', [condition('worker_lost', 'a'), condition('worker_lost', 'c')]]]),
    );
    expect(plan).toEqual({ fire: [condition('worker_lost', 'c')], seen: ['worker_lost:a'], resolve: ['worker_lost:b'] });
  });

  test('a kind whose rule did not run (its input failed to read) keeps its alerts: neither seen nor resolved', () => {
    const plan = planAlerts([firing('worker_lost', 'a'), firing('estop_engaged', 'acme')], new Map([['estop_engaged', []]]));
    expect(plan).toEqual({ fire: [], seen: [], resolve: ['estop_engaged:acme'] });
  });

  test('a firing alert whose words changed is fired again (an update, not a new alert)', () => {
    const plan = planAlerts([firing('worker_lost', 'a', 'silent 5 s')], new Map([['worker_lost', [condition('worker_lost', 'a', 'silent 10 s')]]]));
    expect(plan.fire).toEqual([condition('worker_lost', 'a', 'silent 10 s')]);
    expect(plan.seen).toEqual([]);
    expect(plan.resolve).toEqual([]);
  });

  test('one subject listed twice is one alert', () => {
    const plan = planAlerts([], new Map([['worker_lost', [condition('worker_lost', 'a'), condition('worker_lost', 'a')]]]));
    expect(plan.fire).toHaveLength(1);
  });

  test('the same subject under two kinds is two alerts', () => {
    const plan = planAlerts(
      [],
      new Map<AlertKind, AlertCondition[]>([
        ['worker_lost', [condition('worker_lost', 'x')]],
        ['deployment_unplaceable', [condition('deployment_unplaceable', 'x')]],
      ]),
    );
    expect(plan.fire.map((found) => alertKey(found.kind, found.subject))).toEqual(['worker_lost:x', 'deployment_unplaceable:x']);
  });

  test('nothing stored, nothing found: nothing to write', () => {
    expect(planAlerts([], new Map())).toEqual({ fire: [], seen: [], resolve: [] });
  });
});
