/**
 * The alerts section of the Store contract test: registered from `runStoreContract`, so it runs on
 * SQLite and PostgreSQL. One row per kind and subject; each transition happens once, however many
 * callers race for it.
 */
import { describe, expect, test } from 'vitest';
import type { AlertCondition } from '../core/alerts.js';
import type { Store } from '../core/store.js';

const lost = (overrides: Partial<AlertCondition> = {}): AlertCondition => ({
  kind: 'worker_lost',
  subject: 'w1',
  tenantId: null,
  message: 'Worker w1 is lost',
  link: '/workers',
  ...overrides,
});

/** Registers the alert store tests. */
export function runAlertStoreContract(open: () => Promise<Store>): void {
  describe('alerts', () => {
    test('a condition fires once; seen again it updates last seen and what it says, and reports no transition', async () => {
      const store = await open();
      const fired = await store.alerts.fireAlert(lost(), 1000);
      expect(fired).toMatchObject({ key: 'worker_lost:w1', state: 'firing', firstSeenAt: 1000, lastSeenAt: 1000, resolvedAt: null, fired: 1, tenantId: null });
      expect(await store.alerts.fireAlert(lost({ message: 'Worker w1 is lost: 12 s' }), 2000)).toBeUndefined();
      await store.alerts.touchAlerts(['worker_lost:w1', 'worker_lost:nobody'], 3000);
      const rows = await store.alerts.listAlerts();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ state: 'firing', firstSeenAt: 1000, lastSeenAt: 3000, message: 'Worker w1 is lost: 12 s', fired: 1 });
      await store.close();
    });

    test('resolving is a transition once; the same condition returning fires the same row again', async () => {
      const store = await open();
      await store.alerts.fireAlert(lost(), 1000);
      expect(await store.alerts.resolveAlert('worker_lost:w1', 2000)).toMatchObject({ state: 'resolved', resolvedAt: 2000, firstSeenAt: 1000 });
      expect(await store.alerts.resolveAlert('worker_lost:w1', 2500)).toBeUndefined();
      expect(await store.alerts.resolveAlert('worker_lost:never', 2500)).toBeUndefined();
      // A resolved alert is not touched: its last seen stays when it cleared.
      await store.alerts.touchAlerts(['worker_lost:w1'], 2600);
      expect((await store.alerts.listAlerts())[0]).toMatchObject({ lastSeenAt: 1000, resolvedAt: 2000 });
      const again = await store.alerts.fireAlert(lost(), 3000);
      expect(again).toMatchObject({ state: 'firing', firstSeenAt: 3000, lastSeenAt: 3000, resolvedAt: null, fired: 2 });
      expect(await store.alerts.listAlerts()).toHaveLength(1);
      await store.close();
    });

    test('two evaluators racing: each transition is reported by exactly one of them', async () => {
      const store = await open();
      const fires = await Promise.all([1, 2, 3, 4].map(() => store.alerts.fireAlert(lost(), 1000)));
      expect(fires.filter(Boolean)).toHaveLength(1);
      const resolves = await Promise.all([1, 2, 3].map(() => store.alerts.resolveAlert('worker_lost:w1', 2000)));
      expect(resolves.filter(Boolean)).toHaveLength(1);
      await store.close();
    });

    test('listed newest first, by tenant (the cloud-wide rows only without one) and by state', async () => {
      const store = await open();
      await store.alerts.fireAlert(lost(), 1000);
      await store.alerts.fireAlert({ kind: 'estop_engaged', subject: 'acme', tenantId: 'acme', message: 'stop', link: '/devices' }, 2000);
      await store.alerts.fireAlert({ kind: 'budget_high', subject: 'beta/cost_per_day_usd', tenantId: 'beta', message: '85%', link: '/usage' }, 3000);
      await store.alerts.resolveAlert('budget_high:beta/cost_per_day_usd', 4000);
      expect((await store.alerts.listAlerts()).map((row) => row.key)).toEqual(['budget_high:beta/cost_per_day_usd', 'estop_engaged:acme', 'worker_lost:w1']);
      expect((await store.alerts.listAlerts({ tenantId: 'acme' })).map((row) => row.key)).toEqual(['estop_engaged:acme']);
      expect((await store.alerts.listAlerts({ state: 'firing' })).map((row) => row.key)).toEqual(['estop_engaged:acme', 'worker_lost:w1']);
      expect((await store.alerts.listAlerts({ tenantId: 'beta', state: 'firing' })).map((row) => row.key)).toEqual([]);
      expect(await store.alerts.listAlerts({ limit: 1 })).toHaveLength(1);
      await store.close();
    });
  });
}
