/**
 * Two control planes' pool runtimes on one PostgreSQL schema (two stores, as two processes have),
 * with their leader elections and a hand-moved clock: only the leader places, removes and
 * autoscales; the follower keeps its pool engine current; when the leader stops looking, the
 * other takes the lease with the next generation within 2 heartbeats and placement resumes
 * there; a leader whose lease ran out places nothing, and its stale fence is refused by the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { FencedOut } from '../src/core/pool-lease.js';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { startControlPlane, type ControlPlane } from './support/pool-control-plane.js';
import { dropSchemas, skipWithoutPostgres, uniqueName } from './support/services.js';

const heartbeat = 1000;
const folder = mkdtempSync(join(tmpdir(), 'nimbus-leadership-'));
const modelPath = join(folder, 'tiny.gguf');
const schemas: string[] = [];
let time = 5_000_000;
const clock: Clock = { now: () => time, monotonic: () => time };
const hardware = { cpuModel: 'Test CPU', cores: 4, ramTotalBytes: 8 * 1024 ** 3, ramFreeBytes: 8 * 1024 ** 3, gpus: [] };
const idle = { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 };

const controlPlane = (schema: string, holder: string): Promise<ControlPlane> => startControlPlane(schema, holder, { clock, heartbeatMs: heartbeat });

/** A worker beating through `plane`, reporting its assigned replicas loaded. */
async function beat(plane: ControlPlane, credential: string): Promise<void> {
  const worker = (await plane.runtime.authenticateWorker(credential))!;
  const answer = await plane.runtime.heartbeat(worker, { load: idle, hardware, replicas: [] });
  await plane.runtime.heartbeat(worker, {
    load: idle,
    hardware,
    replicas: answer.assignments.map((assignment) => ({ id: assignment.replica, state: 'ready' })),
  });
}

beforeAll(async () => {
  await writeTinyLlamaGguf(modelPath);
});
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await dropSchemas(schemas);
});

describe('pool leadership on PostgreSQL', () => {
  test('only the leader places; the follower takes over within 2 heartbeats of the leader going silent, and places', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const schema = uniqueName('nimbus_lead');
    schemas.push(schema);
    const a = await controlPlane(schema, 'a');
    const b = await controlPlane(schema, 'b');
    try {
      expect([a.election.leading(), b.election.leading()]).toEqual([true, false]);
      const { token } = await b.runtime.createJoinToken();
      const credentials: string[] = [];
      for (const name of ['w1', 'w2'])
        credentials.push((await b.runtime.join({ token, name, endpoint: `http://127.0.0.1:9${name.slice(1)}00`, hardware })).credential);

      // Deployed through the follower: it writes the deployment but places nothing.
      await b.runtime.deploy({ name: 'tiny', source: modelPath, replicas: 1, device: 'cpu', contextSize: 256, slots: 1, routing: 'round-robin' });
      expect(await b.store.pool.listReplicas()).toEqual([]);
      await a.runtime.reconcile();
      expect(await a.store.pool.listReplicas()).toHaveLength(1);
      for (const credential of credentials) await beat(b, credential);
      // The follower's pool engine serves the replica the leader placed.
      await b.runtime.reconcile();
      expect(b.serving.replicas.get('tiny')).toHaveLength(1);

      // The leader goes silent (a SIGKILL: no release). The follower looks every fifth of a heartbeat.
      const lastRenewal = time;
      let takenAt: number | undefined;
      while (takenAt === undefined && time - lastRenewal < 3 * heartbeat) {
        time += b.election.policy.checkEveryMs;
        await b.election.look();
        if (b.election.leading()) takenAt = time;
      }
      expect(takenAt! - lastRenewal).toBeLessThanOrEqual(2 * heartbeat);
      expect((await b.store.pool.readLease('pool'))?.generation).toBe(2);
      // The old leader's lease ran out by its own clock: it neither places nor autoscales.
      expect(a.election.leading()).toBe(false);

      // Scaled through the old leader (an operator's write needs no lease): only the new leader places.
      for (const credential of credentials) await beat(b, credential);
      await a.runtime.scale('tiny', { replicas: 2 });
      expect(await a.store.pool.listReplicas()).toHaveLength(1);
      await b.runtime.reconcile();
      expect((await b.store.pool.listReplicas()).map((replica) => replica.worker).sort()).toEqual(['w1', 'w2']);

      // A write with the old generation's fence is refused, whatever the old leader believes.
      const [replica] = await a.store.pool.listReplicas();
      await expect(a.store.pool.deleteReplica(replica!.id, { lease: 'pool', generation: 1 })).rejects.toThrow(FencedOut);
      expect(await a.store.pool.listReplicas()).toHaveLength(2);

      // A leader that stops releases the lease: the other takes it at its next look, not after the ttl.
      await b.runtime.stop();
      await b.election.stop();
      time += 1;
      await a.election.look();
      expect(a.election.leading()).toBe(true);
      expect((await a.store.pool.readLease('pool'))?.generation).toBe(3);
    } finally {
      for (const plane of [a, b]) await plane.close();
    }
  }, 60_000);
});
