/**
 * Scale from zero through a follower, with two control planes' pool runtimes on one PostgreSQL
 * schema (two stores, as two processes have) and a hand-moved clock: a request held by the
 * follower is reported in the store, the leader's autoscaler counts it and places a replica, the
 * worker reports it ready through the leader, and the follower lets the request go on once it reads
 * the replica from the store. A control plane that stops takes its demand with it; one that dies
 * leaves rows that stop counting once stale.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { StoreDemandShare } from '../src/pool/shared-demand.js';
import { openPostgresStore } from '../src/store/postgres/open-postgres-store.js';
import { startControlPlane, type ControlPlane } from './support/pool-control-plane.js';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from './support/services.js';

const heartbeat = 1000;
const folder = mkdtempSync(join(tmpdir(), 'nimbus-demand-'));
const modelPath = join(folder, 'tiny.gguf');
const schemas: string[] = [];
let time = 7_000_000;
const clock: Clock = { now: () => time, monotonic: () => time };
const hardware = { cpuModel: 'Test CPU', cores: 4, ramTotalBytes: 8 * 1024 ** 3, ramFreeBytes: 8 * 1024 ** 3, gpus: [] };
const idle = { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 };

const controlPlane = (schema: string, name: string): Promise<ControlPlane> =>
  startControlPlane(schema, name, { clock, heartbeatMs: heartbeat, sharesDemand: true });

beforeAll(async () => {
  await writeTinyLlamaGguf(modelPath);
});
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await dropSchemas(schemas);
});

describe('demand across control planes on PostgreSQL', () => {
  test('a request held by a follower makes the leader scale from zero, and goes on once the follower reads the replica', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const schema = uniqueName('nimbus_demand');
    schemas.push(schema);
    const a = await controlPlane(schema, 'a');
    const b = await controlPlane(schema, 'b');
    try {
      expect([a.election.leading(), b.election.leading()]).toEqual([true, false]);
      const { token } = await a.runtime.createJoinToken();
      const { credential } = await a.runtime.join({ token, name: 'w1', endpoint: 'http://127.0.0.1:9100', hardware });
      await a.runtime.deploy({
        name: 'tiny',
        source: modelPath,
        replicas: 0,
        device: 'cpu',
        contextSize: 256,
        slots: 1,
        routing: 'round-robin',
        autoscale: { minReplicas: 0, maxReplicas: 1, scaleFromZeroTimeoutMs: 30_000 },
      });
      // The follower learns the deployment (and that it autoscales) from the store.
      await b.runtime.reconcile();
      expect(b.runtime.holds('tiny')).toBe(true);

      // A request arrives at the follower: held, and reported at once.
      let answered = false;
      const held = b.runtime.waitForReplica('tiny', new AbortController().signal).then(() => (answered = true));
      await b.runtime.autoscale();
      expect(await a.store.pool.listDemand(0)).toEqual([{ controlPlane: 'b', deployment: 'tiny', held: 1, inFlight: 0, reportedAt: time }]);
      // The deployments view counts it through either control plane.
      for (const plane of [a, b]) expect((await plane.runtime.deployments())[0]).toMatchObject({ name: 'tiny', held: 1 });

      // The leader counts it: one replica, placed at once.
      time += 1000;
      await a.runtime.autoscale();
      expect(a.scales).toEqual(['tiny 0->1: 1 request held at zero replicas']);
      const [replica] = await a.store.pool.listReplicas();
      expect(replica).toMatchObject({ deployment: 'tiny', worker: 'w1', state: 'assigned' });

      // The worker beats through the leader only and reports the replica ready.
      const worker = (await a.runtime.authenticateWorker(credential))!;
      await a.runtime.heartbeat(worker, { load: idle, hardware, replicas: [{ id: replica!.id, state: 'ready' }] });
      expect(answered).toBe(false);
      // The follower's next tick reads the replica from the store and lets the request go on.
      time += 1000;
      await b.runtime.autoscale();
      await held;
      expect(answered).toBe(true);
      expect(b.serving.replicas.get('tiny')).toEqual([`w1/${replica!.id}`]);

      // In flight through the follower counts for the leader too; the follower's stop clears its rows.
      b.serving.running = 3;
      time += 1000;
      await b.runtime.autoscale();
      expect((await a.store.pool.listDemand(0)).map((row) => [row.controlPlane, row.held, row.inFlight])).toEqual([['b', 0, 3]]);
      await b.runtime.stop();
      expect(await a.store.pool.listDemand(0)).toEqual([]);
    } finally {
      for (const plane of [a, b]) await plane.close();
    }
  }, 60_000);

  test('a control plane that dies leaves rows that stop counting once stale; its own rows never count for itself', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const schema = uniqueName('nimbus_demand');
    schemas.push(schema);
    const store = await openPostgresStore(postgresUrl, { schema });
    try {
      const leader = new StoreDemandShare({ store: store.pool, controlPlane: 'a', freshMs: 5000 });
      const dead = new StoreDemandShare({ store: store.pool, controlPlane: 'b', freshMs: 5000 });
      await leader.publish([{ deployment: 'tiny', held: 1, inFlight: 0 }], time);
      await dead.publish([{ deployment: 'tiny', held: 2, inFlight: 1 }], time);
      expect(await leader.others(time)).toEqual(new Map([['tiny', { held: 2, inFlight: 1 }]]));
      expect(await dead.others(time)).toEqual(new Map([['tiny', { held: 1, inFlight: 0 }]]));
      // b reports no more (SIGKILL): after freshMs its rows no longer count.
      expect(await leader.others(time + 5001)).toEqual(new Map());
    } finally {
      await store.close();
    }
  }, 30_000);
});
