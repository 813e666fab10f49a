/** The loop over a real SQLite store: transitions once, followers silent, failed reads change nothing. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { AlertRecord } from '../src/core/alerts.js';
import type { EmergencyStop } from '../src/core/device-store.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import type { WorkerInput } from '../src/alerts/alert-rules.js';
import { AlertLoop, type AlertSources } from '../src/alerts/alert-loop.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-alerts-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let counter = 0;

async function setup(sources: AlertSources, leading = () => true) {
  const store = await openSqliteStore(join(folder, `alerts-${counter++}.db`));
  let now = 1_000_000;
  const transitions: string[] = [];
  const errors: string[] = [];
  const loop = new AlertLoop({
    store: store.alerts,
    sources,
    leading,
    intervalMs: 60_000,
    clock: { now: () => now, monotonic: () => now },
    onTransition: (alert: AlertRecord, change) => transitions.push(`${change} ${alert.key}`),
    onError: (_error, what) => errors.push(what),
  });
  const tick = async (ms = 1000): Promise<void> => {
    now += ms;
    await loop.tick();
  };
  return { store, loop, tick, transitions, errors };
}

test('a worker lost for many ticks is one alert, fired once; back, it resolves once; lost again, the same row fires again', async () => {
  let workers: WorkerInput[] = [{ name: 'w1', state: 'unreachable', silentMs: 3000, replicas: [] }];
  const { store, tick, transitions } = await setup({ workers: async () => workers });
  for (let index = 0; index < 5; index += 1) await tick();
  expect(transitions).toEqual(['fired worker_lost:w1']);
  const [row] = await store.alerts.listAlerts();
  expect(row).toMatchObject({ state: 'firing', firstSeenAt: 1_001_000, lastSeenAt: 1_005_000 });
  workers = [{ name: 'w1', state: 'ready', silentMs: 100, replicas: [] }];
  await tick();
  await tick();
  expect(transitions).toEqual(['fired worker_lost:w1', 'resolved worker_lost:w1']);
  workers = [{ name: 'w1', state: 'unreachable', silentMs: 3000, replicas: [] }];
  await tick();
  expect(transitions.at(-1)).toBe('fired worker_lost:w1');
  expect(await store.alerts.listAlerts()).toEqual([expect.objectContaining({ fired: 2, state: 'firing' })]);
  await store.close();
});

test('a follower evaluates nothing: no reads, no rows', async () => {
  let reads = 0;
  const stops = async (): Promise<EmergencyStop[]> => {
    reads += 1;
    return [{ tenantId: 'acme', active: true, reason: 'r', changedBy: 'local', changedAt: 1 }];
  };
  const { store, tick, transitions } = await setup({ stops }, () => false);
  await tick();
  expect([reads, transitions, await store.alerts.listAlerts()]).toEqual([0, [], []]);
  await store.close();
});

test('a source that fails leaves its kind as it was (no resolve on a failed read); the other kinds go on', async () => {
  let failing = false;
  let active = true;
  const { store, tick, transitions, errors } = await setup({
    workers: async () => {
      if (failing) throw new Error('pool away');
      return [{ name: 'w1', state: 'unreachable', silentMs: 3000, replicas: [] }];
    },
    stops: async () => [{ tenantId: 'acme', active, reason: 'r', changedBy: 'local', changedAt: 1 }],
  });
  await tick();
  failing = true;
  active = false;
  await tick();
  expect(errors).toEqual(['reading workers for alerts']);
  expect(transitions).toEqual(['fired worker_lost:w1', 'fired estop_engaged:acme', 'resolved estop_engaged:acme']);
  expect((await store.alerts.listAlerts({ state: 'firing' })).map((row) => row.key)).toEqual(['worker_lost:w1']);
  await store.close();
});

test('two control planes that both believe they lead (one frozen past its lease) report each transition once', async () => {
  const path = join(folder, 'shared.db');
  const store = await openSqliteStore(path);
  const transitions: string[] = [];
  const loops = [1, 2].map(
    () =>
      new AlertLoop({
        store: store.alerts,
        sources: { stops: async () => [{ tenantId: 'acme', active: true, reason: 'r', changedBy: 'local', changedAt: 1 }] },
        leading: () => true,
        intervalMs: 60_000,
        onTransition: (alert, change) => transitions.push(`${change} ${alert.key}`),
      }),
  );
  await Promise.all(loops.map((loop) => loop.tick()));
  await Promise.all(loops.map((loop) => loop.tick()));
  expect(transitions).toEqual(['fired estop_engaged:acme']);
  await store.close();
});
