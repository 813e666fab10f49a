import { describe, expect, test } from 'vitest';
import type { MemoryEstimate } from './memory-estimate.js';
import type { DeploymentSpec } from './place-deployment.js';
import type { WorkerSnapshot } from './pool-snapshot.js';
import { reconcilePool, type ReplicaRecord } from './reconcile-pool.js';

const GiB = 1024 ** 3;
const memory: MemoryEstimate = {
  layerCount: 8,
  weightBytes: 2 * GiB,
  weightsByType: {},
  nonLayerWeightBytes: 0.25 * GiB,
  kvCacheBytes: 1 * GiB,
  computeBytes: 0.25 * GiB,
  perLayerBytes: (2.75 * GiB) / 8,
  totalBytes: 3.25 * GiB,
};
const chat: DeploymentSpec = { name: 'chat', replicas: 2, device: 'auto', memory };
const worker = (name: string, state: WorkerSnapshot['state'] = 'ready', ramGiB = 16): WorkerSnapshot => ({
  name,
  state,
  ramTotalBytes: ramGiB * GiB,
  ramFreeBytes: ramGiB * GiB,
  gpus: [],
});
const replica = (id: string, workerName: string, deployment = 'chat'): ReplicaRecord => ({ id, deployment, worker: workerName });

describe('reconcilePool', () => {
  test('a healthy pool needs nothing', () => {
    const plan = reconcilePool([chat], [replica('r1', 'a'), replica('r2', 'b')], [worker('a'), worker('b'), worker('c')]);
    expect(plan).toEqual({ lost: [], stop: [], keepDraining: [], placements: [] });
  });

  test('a dead worker loses its replica, and it is placed again on another live worker', () => {
    const plan = reconcilePool([chat], [replica('r1', 'a'), replica('r2', 'b')], [worker('a'), worker('b', 'unreachable'), worker('c')]);
    expect(plan.lost).toEqual([replica('r2', 'b')]);
    expect(plan.placements[0]!.placements.map((fit) => fit.worker)).toEqual(['c']);
  });

  test('a replica on a worker that left the pool entirely is lost too', () => {
    const plan = reconcilePool([chat], [replica('r1', 'a'), replica('r2', 'gone')], [worker('a'), worker('c')]);
    expect(plan.lost.map((lost) => lost.id)).toEqual(['r2']);
    expect(plan.placements[0]!.placements).toHaveLength(1);
  });

  test('new deployments are placed; pending ones wait with a refusal when nothing fits', () => {
    const big: DeploymentSpec = { ...chat, name: 'big', replicas: 1, memory: { ...memory, totalBytes: 100 * GiB } };
    const plan = reconcilePool([chat, big], [], [worker('a'), worker('b')]);
    expect(plan.placements.map((result) => [result.deployment, result.placements.length])).toEqual([
      ['chat', 2],
      ['big', 0],
    ]);
    expect(plan.placements[1]!.refusal).toMatch(/placed 0 of 1 replicas/);
  });

  test('drain: a replacement is placed elsewhere and only then is the drained replica stopped', () => {
    const plan = reconcilePool([chat], [replica('r1', 'a'), replica('r2', 'b')], [worker('a'), worker('b', 'draining'), worker('c')]);
    expect(plan.placements[0]!.placements.map((fit) => fit.worker)).toEqual(['c']);
    expect(plan.stop).toEqual([replica('r2', 'b')]);
    expect(plan.keepDraining).toEqual([]);
    expect(plan.lost).toEqual([]);
  });

  test('drain with nowhere to go keeps the replica serving and says why', () => {
    const plan = reconcilePool([chat], [replica('r1', 'a'), replica('r2', 'b')], [worker('a', 'ready', 3), worker('b', 'draining')]);
    expect(plan.stop).toEqual([]);
    expect(plan.keepDraining).toEqual([replica('r2', 'b')]);
    expect(plan.placements[0]!.refusal).toMatch(/b: worker is draining/);
  });

  test('deployments are reconciled independently', () => {
    const other: DeploymentSpec = { ...chat, name: 'embed', replicas: 1 };
    const plan = reconcilePool(
      [chat, other],
      [replica('r1', 'a'), replica('r2', 'b'), replica('e1', 'b', 'embed')],
      [worker('a'), worker('b', 'unreachable'), worker('c')],
    );
    expect(plan.lost.map((lost) => lost.id).sort()).toEqual(['e1', 'r2']);
    expect(plan.placements.map((result) => [result.deployment, result.placements.map((fit) => fit.worker)])).toEqual([
      ['chat', ['c']],
      ['embed', ['a']],
    ]);
  });
});
