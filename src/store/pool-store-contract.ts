/**
 * The pool section of the Store contract test: registered from `runStoreContract`, so it runs
 * on every Store implementation.
 */
import { describe, expect, test } from 'vitest';
import type { DeploymentRecord, PoolReplicaRecord, WorkerRecord } from '../core/pool-store.js';
import type { Store } from '../core/store.js';
import { runPoolLeaseContract } from './pool-lease-contract.js';

/** A valid worker row; tests override what they care about. */
export function workerRecord(overrides: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    name: 'w1',
    credentialHash: 'c'.repeat(64),
    inferenceSecret: 'secret-1',
    endpoint: 'http://127.0.0.1:9001',
    hardware: {
      cpuModel: 'Test CPU',
      cores: 8,
      ramTotalBytes: 32 * 2 ** 30,
      ramFreeBytes: 16 * 2 ** 30,
      gpus: [{ index: 0, name: 'NVIDIA L4', totalBytes: 24 * 2 ** 30, freeBytes: 20 * 2 ** 30, backend: 'cuda', driver: '550.54' }],
    },
    load: { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 },
    draining: false,
    joinedAt: 1000,
    lastHeartbeatAt: 1000,
    ...overrides,
  };
}

/** A valid deployment row. */
export function deploymentRecord(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    name: 'stories',
    source: '/models/stories.gguf',
    replicas: 2,
    device: 'auto',
    contextSize: 512,
    slots: 2,
    spareSlots: 1,
    routing: 'prefix-cache',
    autoscale: null,
    createdAt: 1000,
    updatedAt: 1000,
    ...overrides,
  };
}

function replicaRecord(overrides: Partial<PoolReplicaRecord> = {}): PoolReplicaRecord {
  return { id: 'rep_1', deployment: 'stories', worker: 'w1', state: 'assigned', error: null, createdAt: 1000, updatedAt: 1000, ...overrides };
}

/** Registers the pool contract tests; `open` returns a fresh, empty store. */
export function runPoolStoreContract(open: () => Promise<Store>): void {
  describe('pool', () => {
    test('a join token is found by its hash only, with its expiry', async () => {
      const store = await open();
      await store.pool.createJoinToken({ id: 'jt_1', hash: 'a'.repeat(64), createdAt: 5, expiresAt: 9_000_000_000_000 });
      await store.pool.createJoinToken({ id: 'jt_2', hash: 'b'.repeat(64), createdAt: 6, expiresAt: null });
      expect(await store.pool.findJoinToken('a'.repeat(64))).toEqual({ id: 'jt_1', hash: 'a'.repeat(64), createdAt: 5, expiresAt: 9_000_000_000_000 });
      expect((await store.pool.findJoinToken('b'.repeat(64)))?.expiresAt).toBeNull();
      expect(await store.pool.findJoinToken('c'.repeat(64))).toBeUndefined();
      await store.close();
    });

    test('workers read back whole, by name and by credential hash; joining again replaces', async () => {
      const store = await open();
      const worker = workerRecord();
      await store.pool.putWorker(worker);
      await store.pool.putWorker(workerRecord({ name: 'w2', credentialHash: 'd'.repeat(64), hardware: { ...worker.hardware, gpus: [] } }));
      expect(await store.pool.getWorker('w1')).toEqual(worker);
      expect((await store.pool.findWorkerByCredential('d'.repeat(64)))?.name).toBe('w2');
      expect(await store.pool.findWorkerByCredential('e'.repeat(64))).toBeUndefined();
      await store.pool.putWorker({ ...worker, credentialHash: 'f'.repeat(64), endpoint: 'http://127.0.0.1:9002' });
      expect(await store.pool.findWorkerByCredential('c'.repeat(64))).toBeUndefined();
      expect((await store.pool.getWorker('w1'))?.endpoint).toBe('http://127.0.0.1:9002');
      expect((await store.pool.listWorkers()).map((row) => row.name)).toEqual(['w1', 'w2']);
      await store.close();
    });

    test('heartbeats update load, hardware and time; drain flips; unknown workers answer false', async () => {
      const store = await open();
      await store.pool.putWorker(workerRecord());
      const load = { activeSequences: 3, queueDepth: 2, tokensPerSecond: 41.5, memoryInUseBytes: 123_456_789 };
      const hardware = { ...workerRecord().hardware, ramFreeBytes: 1234 };
      expect(await store.pool.recordHeartbeat('w1', 7_000, load, hardware)).toBe(true);
      expect(await store.pool.recordHeartbeat('nobody', 7_000, load, hardware)).toBe(false);
      expect(await store.pool.setDraining('w1', true)).toBe(true);
      expect(await store.pool.setDraining('nobody', true)).toBe(false);
      expect(await store.pool.getWorker('w1')).toMatchObject({ lastHeartbeatAt: 7_000, load, hardware, draining: true });
      await store.close();
    });

    test('deployments are upserted, listed by name and deleted with their replicas', async () => {
      const store = await open();
      await store.pool.putDeployment(deploymentRecord());
      await store.pool.putDeployment(deploymentRecord({ name: 'alpha', device: 'cpu', routing: 'round-robin' }));
      await store.pool.putDeployment(deploymentRecord({ replicas: 5, updatedAt: 2000 }));
      expect(await store.pool.getDeployment('stories')).toEqual(deploymentRecord({ replicas: 5, updatedAt: 2000 }));
      expect((await store.pool.listDeployments()).map((row) => row.name)).toEqual(['alpha', 'stories']);
      await store.pool.putReplica(replicaRecord());
      await store.pool.putReplica(replicaRecord({ id: 'rep_2', deployment: 'alpha' }));
      expect(await store.pool.deleteDeployment('stories')).toBe(true);
      expect(await store.pool.deleteDeployment('stories')).toBe(false);
      expect((await store.pool.listReplicas()).map((row) => row.id)).toEqual(['rep_2']);
      expect(await store.pool.getDeployment('stories')).toBeUndefined();
      await store.close();
    });

    test('a deployment keeps its autoscale settings whole; null is a fixed count; changing it replaces them', async () => {
      const store = await open();
      const autoscale = { minReplicas: 0, maxReplicas: 3, targetQueuePerReplica: 2.5, scaleDownDelayMs: 60_000, scaleFromZeroTimeoutMs: 120_000 };
      await store.pool.putDeployment(deploymentRecord({ autoscale, replicas: 0 }));
      await store.pool.putDeployment(deploymentRecord({ name: 'fixed' }));
      expect(await store.pool.getDeployment('stories')).toEqual(deploymentRecord({ autoscale, replicas: 0 }));
      expect((await store.pool.getDeployment('fixed'))?.autoscale).toBeNull();
      await store.pool.putDeployment(deploymentRecord({ autoscale: { ...autoscale, maxReplicas: 5 }, replicas: 2 }));
      expect((await store.pool.listDeployments()).map((row) => [row.name, row.replicas, row.autoscale?.maxReplicas ?? null])).toEqual([
        ['fixed', 2, null],
        ['stories', 2, 5],
      ]);
      await store.pool.putDeployment(deploymentRecord({ autoscale: null }));
      expect((await store.pool.getDeployment('stories'))?.autoscale).toBeNull();
      await store.close();
    });

    test('a deployment keeps its spare slots, 0 included; replacing it changes them', async () => {
      const store = await open();
      await store.pool.putDeployment(deploymentRecord({ spareSlots: 0 }));
      await store.pool.putDeployment(deploymentRecord({ name: 'wide', slots: 4, spareSlots: 256 }));
      expect(await store.pool.getDeployment('stories')).toEqual(deploymentRecord({ spareSlots: 0 }));
      expect(await store.pool.getDeployment('wide')).toEqual(deploymentRecord({ name: 'wide', slots: 4, spareSlots: 256 }));
      await store.pool.putDeployment(deploymentRecord({ spareSlots: 2, updatedAt: 2000 }));
      expect((await store.pool.listDeployments()).map((row) => [row.name, row.slots, row.spareSlots])).toEqual([
        ['stories', 2, 2],
        ['wide', 4, 256],
      ]);
      await store.close();
    });

    test('replicas change state, and go with their worker', async () => {
      const store = await open();
      await store.pool.putWorker(workerRecord());
      await store.pool.putReplica(replicaRecord());
      await store.pool.putReplica(replicaRecord({ id: 'rep_2', worker: 'w2', createdAt: 1001 }));
      await store.pool.putReplica(replicaRecord({ state: 'failed', error: 'out of memory', updatedAt: 3000 }));
      expect(await store.pool.listReplicas()).toEqual([
        replicaRecord({ state: 'failed', error: 'out of memory', updatedAt: 3000 }),
        replicaRecord({ id: 'rep_2', worker: 'w2', createdAt: 1001 }),
      ]);
      expect(await store.pool.deleteWorker('w1')).toBe(true);
      expect((await store.pool.listReplicas()).map((row) => row.id)).toEqual(['rep_2']);
      expect(await store.pool.deleteReplica('rep_2')).toBe(true);
      expect(await store.pool.deleteReplica('rep_2')).toBe(false);
      await store.close();
    });

    runPoolLeaseContract(open);
  });
}
