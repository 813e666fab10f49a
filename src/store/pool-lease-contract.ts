/**
 * The pool lease and fenced placement writes, in the Store contract (registered from
 * `runPoolStoreContract`, so they run on SQLite and PostgreSQL): the lease is compare-and-set,
 * and a placement write whose fence is not the lease's generation throws FencedOut and writes nothing;
 * each control plane's demand report replaces its own rows only.
 */
import { expect, test } from 'vitest';
import { FencedOut, type LeaseRecord } from '../core/pool-lease.js';
import type { PoolReplicaRecord } from '../core/pool-store.js';
import type { Store } from '../core/store.js';
import { deploymentRecord } from './pool-store-contract.js';

const lease = (overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({ name: 'pool', holder: 'a', generation: 1, expiresAt: 5000, ...overrides });
const replica = (id: string): PoolReplicaRecord => ({ id, deployment: 'stories', worker: 'w1', state: 'assigned', error: null, createdAt: 1, updatedAt: 1 });

/** Registers the lease tests inside the pool's describe. */
export function runPoolLeaseContract(open: () => Promise<Store>): void {
  test('the lease is compare-and-set: created once, then changed only from what was read', async () => {
    const store = await open();
    expect(await store.pool.readLease('pool')).toBeUndefined();
    expect(await store.pool.swapLease(undefined, lease())).toBe(true);
    expect(await store.pool.swapLease(undefined, lease({ holder: 'b' }))).toBe(false);
    expect(await store.pool.readLease('pool')).toEqual(lease());
    const renewed = lease({ expiresAt: 7000 });
    expect(await store.pool.swapLease(lease(), renewed)).toBe(true);
    // What was read before the renewal is stale now: a peer acting on it loses.
    expect(await store.pool.swapLease(lease(), lease({ holder: 'b', generation: 2 }))).toBe(false);
    expect(await store.pool.readLease('pool')).toEqual(renewed);
    await store.close();
  });

  test('two control planes taking an expired lease at once: exactly one wins', async () => {
    const store = await open();
    await store.pool.swapLease(undefined, lease({ expiresAt: 100 }));
    const expired = (await store.pool.readLease('pool'))!;
    const takes = await Promise.all(['b', 'c', 'd'].map((holder) => store.pool.swapLease(expired, lease({ holder, generation: 2, expiresAt: 9000 }))));
    expect(takes.filter(Boolean)).toHaveLength(1);
    expect((await store.pool.readLease('pool'))?.generation).toBe(2);
    await store.close();
  });

  test('a placement write with a stale fence throws FencedOut and writes nothing; the current fence writes', async () => {
    const store = await open();
    const fence = { lease: 'pool', generation: 1 };
    // No lease at all: no one may place with a fence.
    await expect(store.pool.putReplica(replica('rep_0'), fence)).rejects.toThrow(FencedOut);
    await store.pool.swapLease(undefined, lease());
    await store.pool.putReplica(replica('rep_1'), fence);
    await store.pool.putDeployment(deploymentRecord({ replicas: 1 }), fence);
    // Another control plane takes the lease: generation 2.
    await store.pool.swapLease(lease(), lease({ holder: 'b', generation: 2, expiresAt: 9000 }));
    await expect(store.pool.putReplica(replica('rep_2'), fence)).rejects.toThrow(/no longer leads the pool: .*generation 1, the lease is at 2/);
    await expect(store.pool.deleteReplica('rep_1', fence)).rejects.toThrow(FencedOut);
    await expect(store.pool.putDeployment(deploymentRecord({ replicas: 5 }), fence)).rejects.toThrow(FencedOut);
    expect((await store.pool.listReplicas()).map((row) => row.id)).toEqual(['rep_1']);
    expect((await store.pool.getDeployment('stories'))?.replicas).toBe(1);
    const current = { lease: 'pool', generation: 2 };
    await store.pool.putReplica(replica('rep_3'), current);
    expect(await store.pool.deleteReplica('rep_1', current)).toBe(true);
    expect((await store.pool.listReplicas()).map((row) => row.id)).toEqual(['rep_3']);
    // Writes without a fence (a heartbeat, an operator) are not held to the lease.
    await store.pool.putReplica({ ...replica('rep_3'), state: 'ready' });
    expect((await store.pool.listReplicas())[0]?.state).toBe('ready');
    await store.close();
  });

  test("a control plane's demand report replaces its own rows only; stale rows are left out by time", async () => {
    const store = await open();
    await store.pool.putDemand('a', [{ deployment: 'stories', held: 2, inFlight: 0 }], 1000);
    await store.pool.putDemand(
      'b',
      [
        { deployment: 'alpha', held: 0, inFlight: 3 },
        { deployment: 'stories', held: 1, inFlight: 1 },
      ],
      2000,
    );
    expect(await store.pool.listDemand(0)).toEqual([
      { controlPlane: 'b', deployment: 'alpha', held: 0, inFlight: 3, reportedAt: 2000 },
      { controlPlane: 'a', deployment: 'stories', held: 2, inFlight: 0, reportedAt: 1000 },
      { controlPlane: 'b', deployment: 'stories', held: 1, inFlight: 1, reportedAt: 2000 },
    ]);
    expect((await store.pool.listDemand(1500)).map((row) => row.controlPlane)).toEqual(['b', 'b']);
    // b's next report drops alpha; an empty report removes every row of a.
    await store.pool.putDemand('b', [{ deployment: 'stories', held: 0, inFlight: 1 }], 3000);
    await store.pool.putDemand('a', [], 3000);
    expect(await store.pool.listDemand(0)).toEqual([{ controlPlane: 'b', deployment: 'stories', held: 0, inFlight: 1, reportedAt: 3000 }]);
    await store.close();
  });
}
