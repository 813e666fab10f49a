/**
 * The first placement backend: machines that joined the pool with a token and beat
 * (`nimbus worker`). A replica is a row in the store that names its worker; the worker learns of
 * it from its next heartbeat's answer, downloads the model from the control plane, loads it and
 * reports it ready. Placement is `placeDeployment` over the workers' reported memory, less what
 * replicas assigned and not yet loaded will take; a worker silent for `missedBeats` intervals has
 * lost its replicas. The worker API (`members`) feeds the same book of heartbeats.
 */
import { explainPlacement, fitOnWorker, placeDeployment, type HeartbeatPolicy, type MemoryEstimate, type PlacementResult } from '../../cluster/index.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Fence } from '../../core/pool-lease.js';
import type { DeploymentRecord, PoolReplicaRecord, PoolStore, WorkerRecord } from '../../core/pool-store.js';
import type { PlacementOutcome, ProvisionedReplica, ProvisionerChange, ProvisionSpec, ReplicaProvisioner } from '../../core/replica-provisioner.js';
import { ModelFiles } from './model-files.js';
import { WorkerBook } from './worker-book.js';
import { WorkerMembership } from './worker-membership.js';
import { workerSnapshots } from './worker-snapshots.js';

/** Options of `JoinedWorkerPool`. */
export interface JoinedWorkerPoolOptions {
  store: PoolStore;
  /** The control plane's local GGUF path for a deployment's source (its model cache). */
  resolveModel: (source: string) => Promise<string>;
  clock?: Clock;
  heartbeat?: Partial<HeartbeatPolicy>;
}

/** The joined workers as a `ReplicaProvisioner`; `members` is their worker API. */
export class JoinedWorkerPool implements ReplicaProvisioner {
  readonly kind = 'joined workers';
  /** Join tokens, joins, heartbeats, model files, drain: what workers and the admin API call. */
  readonly members: WorkerMembership;
  readonly heartbeatIntervalMs: number;
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly book: WorkerBook;
  private readonly files: ModelFiles;
  private readonly listeners = new Set<(change: ProvisionerChange) => void>();
  /** The last placement of each deployment (by name and creation), for `explain`. */
  private readonly decisions = new Map<string, PlacementResult>();
  /** Deployments whose model could not be sized, and why. */
  private readonly problems = new Map<string, string>();

  constructor(options: JoinedWorkerPoolOptions) {
    const clock = (this.clock = options.clock ?? systemClock);
    this.store = options.store;
    this.book = new WorkerBook(clock, options.heartbeat);
    this.heartbeatIntervalMs = this.book.heartbeatIntervalMs;
    this.files = new ModelFiles(options.resolveModel);
    this.members = new WorkerMembership({
      store: this.store,
      clock,
      book: this.book,
      files: this.files,
      emit: (change) => this.emit(change),
    });
  }

  async start(): Promise<void> {
    this.book.load(await this.store.listWorkers(), await this.store.listReplicas());
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  async prepare(spec: ProvisionSpec): Promise<void> {
    await this.files.memoryOf(spec);
  }

  async place(spec: ProvisionSpec, count: number, fence?: Fence): Promise<PlacementOutcome> {
    const key = keyOf(spec);
    let memory: MemoryEstimate;
    try {
      memory = await this.files.memoryOf(spec);
      this.problems.delete(key);
    } catch (error) {
      const problem = `cannot size ${spec.source}: ${(error as Error).message}`;
      this.problems.set(key, problem);
      return { placed: [], refusal: problem };
    }
    const { workers, replicas, deployments } = await this.read();
    const own = replicas.filter((replica) => replica.deployment === spec.name && replica.state !== 'failed');
    const snapshots = this.snapshots(workers, replicas, deployments);
    const ready = new Set(snapshots.filter((worker) => worker.state === 'ready').map((worker) => worker.name));
    const live = own.filter((replica) => ready.has(replica.worker));
    const result = placeDeployment({ name: spec.name, replicas: live.length + count, device: spec.device, memory }, snapshots, live);
    // A worker serves a deployment under its name, so it runs at most one replica of it.
    const lost = new Set(snapshots.filter((worker) => worker.state === 'unreachable').map((worker) => worker.name));
    const hosts = new Set(own.filter((replica) => !lost.has(replica.worker)).map((replica) => replica.worker));
    const doubled: string[] = [];
    const placed: PoolReplicaRecord[] = [];
    const now = this.clock.now();
    for (const fit of result.placements) {
      if (hosts.has(fit.worker)) {
        doubled.push(fit.worker);
        continue;
      }
      hosts.add(fit.worker);
      const replica: PoolReplicaRecord = {
        id: newId('rep_', 12),
        deployment: spec.name,
        worker: fit.worker,
        state: 'assigned',
        error: null,
        createdAt: now,
        updatedAt: now,
      };
      await this.store.putReplica(replica, fence);
      placed.push(replica);
    }
    const refusal =
      result.refusal ??
      (doubled.length > 0 ? `${doubled.length} replica(s) found room only on workers that already run one (${doubled.join(', ')}); add a worker.` : undefined);
    this.decisions.set(key, { ...result, ...(refusal ? { refusal } : {}) });
    const byName = new Map(workers.map((worker) => [worker.name, worker]));
    return { placed: placed.map((replica) => this.provisioned(replica, byName, new Map())), ...(refusal ? { refusal } : {}) };
  }

  async remove(id: string, fence?: Fence): Promise<boolean> {
    const removed = await this.store.deleteReplica(id, fence);
    this.book.unready(id);
    return removed;
  }

  async observe(): Promise<ProvisionedReplica[]> {
    const { workers, replicas } = await this.read();
    const byName = new Map(workers.map((worker) => [worker.name, worker]));
    // A worker's reported load is split evenly among the deployments it runs.
    const sharing = new Map<string, Set<string>>();
    for (const replica of replicas) {
      let set = sharing.get(replica.worker);
      if (!set) sharing.set(replica.worker, (set = new Set()));
      set.add(replica.deployment);
    }
    return replicas.map((replica) => this.provisioned(replica, byName, sharing));
  }

  serves(id: string): boolean {
    return this.book.serves(id);
  }

  stalled(id: string): boolean {
    return this.book.stalled(id);
  }

  async room(spec: ProvisionSpec, wanted: number): Promise<number> {
    let memory: MemoryEstimate;
    try {
      memory = await this.files.memoryOf(spec);
    } catch {
      return 0;
    }
    const { workers, replicas, deployments } = await this.read();
    const own = replicas.filter((replica) => replica.deployment === spec.name);
    const hosts = new Set(own.map((replica) => replica.worker));
    const free = this.snapshots(workers, replicas, deployments).filter(
      (worker) => !hosts.has(worker.name) && 'fit' in fitOnWorker(worker, memory, spec.device),
    ).length;
    return Math.max(0, free - Math.max(0, wanted - own.length));
  }

  async explain(spec: ProvisionSpec, wanted: number): Promise<string[]> {
    const lines: string[] = [];
    const problem = this.problems.get(keyOf(spec));
    if (problem) lines.push(problem);
    const decision = this.decisions.get(keyOf(spec));
    if (decision) {
      lines.push('last placement decision:');
      lines.push(...explainPlacement(decision));
    } else if (!problem) {
      const memory = await this.files.memoryOf(spec);
      const workers = workerSnapshots(
        await this.store.listWorkers(),
        [],
        (worker) => this.book.stateOf(worker),
        () => undefined,
      );
      lines.push('where placement would put every replica now, from scratch:');
      lines.push(...explainPlacement(placeDeployment({ name: spec.name, replicas: wanted, device: spec.device, memory }, workers)));
    }
    return lines;
  }

  watch(listener: (change: ProvisionerChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: ProvisionerChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Workers, replicas and deployments from the store, with what other control planes recorded taken in. */
  private async read(): Promise<{ workers: WorkerRecord[]; replicas: PoolReplicaRecord[]; deployments: DeploymentRecord[] }> {
    const [workers, replicas, deployments] = await Promise.all([this.store.listWorkers(), this.store.listReplicas(), this.store.listDeployments()]);
    this.book.sync(workers, replicas);
    for (const change of this.book.changes(workers.map((worker) => worker.name))) {
      const seconds = `${Math.round(change.silentMs / 100) / 10} s`;
      const held = replicas.filter((replica) => replica.worker === change.name).map((replica) => replica.id);
      const detail =
        change.state === 'lost'
          ? `silent for ${seconds}; ${held.length > 0 ? `its replicas (${held.join(', ')}) are placed elsewhere` : 'it ran no replicas'}`
          : 'beating again';
      this.emit({ kind: 'host', host: change.name, state: change.state, detail });
    }
    return { workers, replicas, deployments };
  }

  private snapshots(workers: readonly WorkerRecord[], replicas: readonly PoolReplicaRecord[], deployments: readonly DeploymentRecord[]) {
    const specs = new Map(deployments.map((deployment) => [deployment.name, deployment]));
    return workerSnapshots(
      workers,
      replicas,
      (name) => this.book.stateOf(name),
      (name) => this.files.knownMemory(specs.get(name)),
    );
  }

  private provisioned(
    replica: PoolReplicaRecord,
    workers: ReadonlyMap<string, WorkerRecord>,
    sharing: ReadonlyMap<string, ReadonlySet<string>>,
  ): ProvisionedReplica {
    const worker = workers.get(replica.worker);
    const alive = worker ? this.book.stateOf(worker.name) : undefined;
    const lost = alive === undefined || alive === 'unreachable';
    const load = worker && !lost ? (worker.load.activeSequences + worker.load.queueDepth) / Math.max(1, sharing.get(worker.name)?.size ?? 1) : 0;
    return {
      id: replica.id,
      deployment: replica.deployment,
      host: replica.worker,
      state: replica.state === 'failed' ? 'failed' : this.book.isReady(replica.id) ? 'ready' : replica.state,
      error: replica.error,
      lost,
      moving: !lost && worker!.draining,
      reportedLoad: load,
      createdAt: replica.createdAt,
      updatedAt: replica.updatedAt,
      ...(worker ? { endpoint: { url: worker.endpoint, secret: worker.inferenceSecret } } : {}),
    };
  }
}

const keyOf = (spec: ProvisionSpec): string => `${spec.name}\u0000${spec.createdAt}`;
