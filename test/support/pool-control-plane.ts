/**
 * A control plane's pool side in process, for tests of several control planes on one PostgreSQL
 * schema (a store each, as separate processes have): its leader election, the joined workers,
 * and a pool runtime on a hand-moved clock that never runs a loop by itself (the test runs every
 * reconcile, tick and look). The pool engine is `Serving`, which records what it is told.
 */
import type { Clock } from '../../src/core/clock.js';
import type { Engine } from '../../src/core/engine.js';
import type { ScaleEvent } from '../../src/core/pool-control.js';
import type { Store } from '../../src/core/store.js';
import { JoinedWorkerPool } from '../../src/pool/joined/joined-worker-pool.js';
import { LeaderElection } from '../../src/pool/leader-election.js';
import { PoolRuntime } from '../../src/pool/pool-runtime.js';
import { StoreDemandShare } from '../../src/pool/shared-demand.js';
import { openPostgresStore } from '../../src/store/postgres/open-postgres-store.js';
import { postgresUrl } from './services.js';

/** The pool engine as a runtime sees it: the replicas of each deployment, and requests in flight set by the test. */
export class Serving {
  readonly replicas = new Map<string, string[]>();
  running = 0;
  inFlight(): number {
    return this.running;
  }
  deploy(): void {}
  setReplicas(model: string, replicas: ReadonlyArray<{ id: string }>): void {
    this.replicas.set(
      model,
      replicas.map((replica) => replica.id),
    );
  }
  undeploy(model: string): void {
    this.replicas.delete(model);
  }
}

/** One control plane of the test. */
export interface ControlPlane {
  name: string;
  store: Store;
  election: LeaderElection;
  runtime: PoolRuntime;
  serving: Serving;
  /** Every count change, as `deployment from->to: reason`. */
  scales: string[];
  /** Stops the runtime and the election and closes the store. */
  close(): Promise<void>;
}

/** Options of `startControlPlane`. */
export interface ControlPlaneOptions {
  clock: Clock;
  heartbeatMs: number;
  /** Whether it reports its demand in the store and counts the others' (`StoreDemandShare`); default false. */
  sharesDemand?: boolean;
}

/** Opens a store on `schema`, looks at the lease once (so the first started leads) and starts the runtime. */
export async function startControlPlane(schema: string, name: string, options: ControlPlaneOptions): Promise<ControlPlane> {
  const { clock, heartbeatMs } = options;
  const store = await openPostgresStore(postgresUrl, { schema });
  const election = new LeaderElection({ store: store.pool, holder: name, heartbeatMs, clock });
  const joined = new JoinedWorkerPool({ store: store.pool, resolveModel: async (source) => source, clock, heartbeat: { intervalMs: heartbeatMs } });
  const serving = new Serving();
  const scales: string[] = [];
  const runtime = new PoolRuntime({
    store: store.pool,
    serving,
    provisioner: joined,
    workers: joined.members,
    leadership: election,
    ...(options.sharesDemand ? { demand: new StoreDemandShare({ store: store.pool, controlPlane: name }) } : {}),
    replicaEngine: () => ({ close: async () => undefined }) as unknown as Engine,
    clock,
    onScale: (deployment: string, event: ScaleEvent) => scales.push(`${deployment} ${event.from}->${event.to}: ${event.reason}`),
    // The test runs every reconcile, tick and look itself.
    reconcileIntervalMs: 3_600_000,
    autoscaleIntervalMs: 3_600_000,
  });
  await election.look();
  await runtime.start();
  return {
    name,
    store,
    election,
    runtime,
    serving,
    scales,
    async close() {
      await runtime.stop();
      await election.stop();
      await store.close();
    },
  };
}
