/**
 * The control plane's pool runtime: workers join with a token and beat; deployments are
 * persisted; a reconcile loop (on join, heartbeat changes, deploy, scale, drain, and every
 * heartbeat interval, which is how silent workers are noticed) places and forgets replicas with
 * `reconcilePool`, persists them, answers each worker's heartbeat with the replicas it must run,
 * and keeps the pool engine's replicas current. An autoscale tick (every second) moves the count
 * of deployments that autoscale with `decideScale`, holds requests at zero replicas until one is
 * ready, and a replica that fails to load puts its deployment in backoff (`load-backoff.ts`)
 * instead of being placed again at once. The clock is injected; engines are built by the caller
 * (`replicaEngine`), so this folder knows no concrete engine.
 */
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  afterLoadFailure,
  createRouter,
  decideScale,
  defaultHeartbeatPolicy,
  defaultLoadBackoff,
  estimateMemory,
  explainPlacement,
  fitOnWorker,
  mayPlaceAgain,
  parseRoutingPolicy,
  placeDeployment,
  reconcilePool,
  WorkerHealth,
  type DeploymentSpec,
  type HeartbeatPolicy,
  type LoadBackoff,
  type LoadBackoffPolicy,
  type MemoryEstimate,
  type PlacementResult,
} from '../cluster/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Engine } from '../core/engine.js';
import { NimbusError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type {
  DeploymentView,
  DeployRequest,
  HeartbeatAnswer,
  HeartbeatRequest,
  JoinAnswer,
  JoinRequest,
  ModelFile,
  PoolControl,
  ReplicaAssignment,
  ScaleEvent,
  ScaleRequest,
  WorkerView,
} from '../core/pool-control.js';
import type { AutoscaleSpec, DeploymentRecord, PoolReplicaRecord, PoolStore, WorkerRecord } from '../core/pool-store.js';
import type { ReplicaRouter } from '../core/replica-router.js';
import { CoalescedRun } from '../core/coalesced-run.js';
import { readGgufHeader } from '../gguf/index.js';
import { checkCountInRange, describeAutoscale, mergeAutoscale } from './autoscale-settings.js';
import { FileDigests } from './file-digest.js';
import { HeldRequests } from './held-requests.js';
import { workerSnapshots } from './worker-snapshots.js';

/** What the runtime needs of the pool engine (`src/engines/pool`). */
export interface PoolServing {
  deploy(model: string, router: ReplicaRouter): void;
  setReplicas(model: string, replicas: ReadonlyArray<{ id: string; worker?: string; engine: Engine; healthy?: () => boolean }>): void;
  undeploy(model: string): void;
  /**
   * Requests sent to the deployment's replicas (or to the one named `worker/replica`) and not yet
   * ended, queued or running there: demand the autoscaler counts, and what scaling down avoids cutting.
   */
  inFlight(model: string, replica?: string): number;
}

/** Options of `PoolRuntime`. */
export interface PoolRuntimeOptions {
  store: PoolStore;
  serving: PoolServing;
  /** An engine that reaches one replica on its worker (an OpenAI engine at its endpoint, with its secret). */
  replicaEngine: (worker: WorkerRecord, replica: PoolReplicaRecord) => Engine;
  /** The control plane's local GGUF path for a deployment's source (its model cache). */
  resolveModel: (source: string) => Promise<string>;
  clock?: Clock;
  heartbeat?: Partial<HeartbeatPolicy>;
  /** How often the autoscaler decides (and held requests' deadlines are checked); default 1000 ms. */
  autoscaleIntervalMs?: number;
  /** Backoff of deployments whose replicas fail to load; merged over 1 s doubling to 5 min. */
  loadBackoff?: Partial<LoadBackoffPolicy>;
  /** Failures of the background loop (the loop keeps going). */
  onError?: (error: unknown) => void;
  /** Every change of a deployment's count, by the autoscaler or an operator (for the log). */
  onScale?: (deployment: string, event: ScaleEvent) => void;
}

/** The autoscaler's memory of one deployment (in memory: a restarted control plane starts it afresh). */
interface ScaleState {
  lastAboveTargetAt: number;
  lastScaleAt: number;
  last?: ScaleEvent;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const secret = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;
/** The longest a retiring replica waits for its requests in flight before it is removed anyway. */
const retireTimeoutMs = 300_000;
const zeroLoad = { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 };

/** The pool's control-plane side; `start` it once, `stop` it on shutdown. */
export class PoolRuntime implements PoolControl {
  readonly heartbeatIntervalMs: number;
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly health: WorkerHealth;
  private readonly digests = new FileDigests();
  private readonly paths = new Map<string, Promise<string>>();
  private readonly memory = new Map<string, MemoryEstimate>();
  private readonly placements = new Map<string, PlacementResult>();
  private readonly problems = new Map<string, string>();
  /** Replicas their worker reported loaded and serving. */
  private readonly ready = new Set<string>();
  /**
   * Replicas a scale-down took out of routing while requests from here were still running on them,
   * and since when: removed once those requests end (or after `retireTimeoutMs`), so that scaling
   * down cuts no request.
   */
  private readonly retiring = new Map<string, number>();
  /** The newest heartbeat time of each worker this process has taken into its health book. */
  private readonly lastSeen = new Map<string, number>();
  private readonly silenceLimitMs: number;
  private readonly engines = new Map<string, { key: string; engine: Engine }>();
  private readonly routing = new Map<string, string>();
  /** Each deployment's replicas as last given to the pool engine, to tell when one of them serves. */
  private readonly served = new Map<string, PoolReplicaRecord[]>();
  /** Deployments that autoscale and their settings, as of the last reconcile or change here. */
  private readonly autoscaled = new Map<string, AutoscaleSpec>();
  private readonly scaling = new Map<string, ScaleState>();
  private readonly held = new HeldRequests();
  private readonly backoff = new Map<string, LoadBackoff>();
  /** Deployments in backoff not yet placed again since it passed. */
  private readonly retryPending = new Set<string>();
  private readonly loadBackoffPolicy: LoadBackoffPolicy;
  private readonly autoscaleIntervalMs: number;
  private readonly passes = new CoalescedRun(() => this.reconcileOnce());
  private readonly ticks = new CoalescedRun(() => this.autoscaleOnce());
  private timer: NodeJS.Timeout | undefined;
  private autoscaleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PoolRuntimeOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.health = new WorkerHealth(this.clock, options.heartbeat);
    this.heartbeatIntervalMs = options.heartbeat?.intervalMs ?? defaultHeartbeatPolicy.intervalMs;
    this.silenceLimitMs = this.heartbeatIntervalMs * (options.heartbeat?.missedBeats ?? defaultHeartbeatPolicy.missedBeats);
    this.loadBackoffPolicy = { ...defaultLoadBackoff, ...options.loadBackoff } satisfies LoadBackoffPolicy;
    this.autoscaleIntervalMs = options.autoscaleIntervalMs ?? 1000;
  }

  /** Loads the pool from the store (known workers get the grace of a fresh heartbeat) and starts the loop. */
  async start(): Promise<void> {
    for (const worker of await this.store.listWorkers()) {
      this.health.beat(worker.name, worker.load);
      this.lastSeen.set(worker.name, worker.lastHeartbeatAt);
    }
    for (const replica of await this.store.listReplicas()) if (replica.state === 'ready') this.ready.add(replica.id);
    // In the background: a deployment whose model must first be downloaded does not hold up the server's start.
    this.reconcileLater();
    this.timer = setInterval(() => void this.reconcile().catch((error: unknown) => this.options.onError?.(error)), this.heartbeatIntervalMs);
    this.timer.unref();
    this.autoscaleTimer = setInterval(() => this.autoscaleLater(), this.autoscaleIntervalMs);
    this.autoscaleTimer.unref();
  }

  /** Stops the loops and answers held requests; engines are closed by the pool engine's own close. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.autoscaleTimer);
    this.releaseHeld();
    await this.ticks.current?.catch(() => undefined);
    await this.passes.current?.catch(() => undefined);
  }

  /** Answers every held request with a 503 (the server is shutting down): they must not hold up the drain. */
  releaseHeld(): void {
    this.held.releaseAll(new NimbusError('shutting_down', 'The server is shutting down before a replica became ready; retry on another instance.'));
  }

  /** Whether requests for `model` wait for a replica when none is ready: its deployment autoscales. */
  holds(model: string): boolean {
    return this.autoscaled.has(model);
  }

  /**
   * Holds a request until a replica of `model` is ready; rejects with 503 model_not_ready after
   * the deployment's `scaleFromZeroTimeoutMs` (checked each autoscale tick), with the signal's
   * reason when the client goes, or at shutdown. Asks the autoscaler at once, so a replica is
   * placed without waiting for the next tick.
   */
  waitForReplica(model: string, signal: AbortSignal): Promise<void> {
    const spec = this.autoscaled.get(model);
    if (!spec || this.servable(model)) return Promise.resolve();
    const waiting = this.held.hold(model, this.clock.now() + spec.scaleFromZeroTimeoutMs, spec.scaleFromZeroTimeoutMs, signal);
    this.autoscaleLater();
    return waiting;
  }

  /**
   * One autoscale tick: held requests past their deadline get their 503; each autoscaling
   * deployment's count is decided from its demand; deployments whose load backoff passed are
   * placed again. One at a time; a call during one runs another right after.
   */
  autoscale(): Promise<void> {
    return this.ticks.run();
  }

  /** Runs a reconciliation now; one at a time, and a request during one runs another right after. */
  reconcile(): Promise<void> {
    return this.passes.run();
  }

  async createJoinToken(expiresInMs?: number): Promise<{ id: string; token: string; expiresAt: number | null }> {
    const token = secret('nmj_');
    const record = { id: newId('jt_', 12), hash: sha256(token), createdAt: this.clock.now(), expiresAt: expiresInMs ? this.clock.now() + expiresInMs : null };
    await this.store.createJoinToken(record);
    return { id: record.id, token, expiresAt: record.expiresAt };
  }

  async join(request: JoinRequest): Promise<JoinAnswer> {
    const token = await this.store.findJoinToken(sha256(request.token));
    if (!token || (token.expiresAt !== null && token.expiresAt <= this.clock.now())) {
      throw new NimbusError(
        'invalid_api_key',
        "The join token is unknown or expired. Create one on the control plane with 'nimbus workers token' and pass it with --token.",
      );
    }
    const known = await this.store.getWorker(request.name);
    const credential = secret('nmw_');
    const inferenceSecret = secret('nms_');
    const now = this.clock.now();
    await this.store.putWorker({
      name: request.name,
      credentialHash: sha256(credential),
      inferenceSecret,
      endpoint: request.endpoint,
      hardware: request.hardware,
      load: zeroLoad,
      draining: known?.draining ?? false,
      joinedAt: now,
      lastHeartbeatAt: now,
    });
    this.health.beat(request.name, zeroLoad);
    this.lastSeen.set(request.name, now);
    this.reconcileLater();
    return { name: request.name, credential, inferenceSecret, heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  async authenticateWorker(credential: string): Promise<WorkerRecord | undefined> {
    if (!credential.startsWith('nmw_')) return undefined;
    return this.store.findWorkerByCredential(sha256(credential));
  }

  async heartbeat(worker: WorkerRecord, request: HeartbeatRequest): Promise<HeartbeatAnswer> {
    const before = this.health.state(worker.name);
    const now = this.clock.now();
    this.health.beat(worker.name, request.load);
    this.lastSeen.set(worker.name, now);
    await this.store.recordHeartbeat(worker.name, now, request.load, request.hardware);
    let changed = before === undefined || before === 'unreachable';
    const reports = new Map(request.replicas.map((report) => [report.id, report]));
    const mine = (await this.store.listReplicas()).filter((replica) => replica.worker === worker.name);
    for (const replica of mine) {
      const report = reports.get(replica.id);
      // Persisted, so that another control-plane process on the same store routes by it too.
      const state = report?.state === 'ready' ? 'ready' : report?.state === 'failed' ? 'failed' : 'assigned';
      if (state === 'ready') {
        this.ready.add(replica.id);
        // A replica that loads ends its deployment's load backoff.
        this.backoff.delete(replica.deployment);
        this.retryPending.delete(replica.deployment);
      } else this.ready.delete(replica.id);
      if (state === replica.state) continue;
      await this.store.putReplica({ ...replica, state, error: state === 'failed' ? (report?.error ?? 'failed to load') : null, updatedAt: now });
      changed = true;
    }
    if (changed) this.reconcileLater();
    this.wakeHeld();
    return { assignments: await this.assignmentsOf(mine.filter((replica) => replica.state !== 'failed')) };
  }

  async leave(worker: WorkerRecord): Promise<void> {
    for (const replica of await this.store.listReplicas()) if (replica.worker === worker.name) this.ready.delete(replica.id);
    await this.store.deleteWorker(worker.name);
    this.health.remove(worker.name);
    await this.reconcile();
  }

  async modelFile(worker: WorkerRecord, deployment: string): Promise<ModelFile> {
    const assigned = (await this.store.listReplicas()).some((replica) => replica.worker === worker.name && replica.deployment === deployment);
    const record = assigned ? await this.store.getDeployment(deployment) : undefined;
    if (!record) throw new NimbusError('not_found', `No replica of '${deployment}' is assigned to worker '${worker.name}'.`);
    const path = await this.pathOf(record.source);
    return { path, size: (await stat(path)).size };
  }

  async deploy(request: DeployRequest): Promise<DeploymentView> {
    if (await this.store.getDeployment(request.name)) {
      throw new NimbusError(
        'conflict',
        `A deployment named '${request.name}' exists; change it with 'nimbus deployments scale ${request.name} N' or remove it first.`,
        { param: 'name' },
      );
    }
    try {
      parseRoutingPolicy(request.routing);
    } catch (error) {
      throw new NimbusError('invalid_value', (error as Error).message, { param: 'routing' });
    }
    const now = this.clock.now();
    const autoscale = request.autoscale ? mergeAutoscale(null, request.autoscale, request.replicas ?? 0) : null;
    const replicas = request.replicas ?? autoscale?.minReplicas ?? 1;
    if (autoscale) checkCountInRange(autoscale, replicas);
    else if (replicas < 1)
      throw new NimbusError('invalid_value', 'A deployment of a fixed count needs at least 1 replica; pass min_replicas 0 to let it scale to zero.', {
        param: 'replicas',
      });
    const { name, source, device, contextSize, slots, routing } = request;
    const record: DeploymentRecord = { name, source, replicas, device, contextSize, slots, routing, autoscale, createdAt: now, updatedAt: now };
    try {
      await this.memoryOf(record);
    } catch (error) {
      throw new NimbusError('invalid_value', `Cannot deploy '${request.source}': ${(error as Error).message}`, { param: 'model' });
    }
    await this.store.putDeployment(record);
    this.scaling.set(record.name, { lastAboveTargetAt: now, lastScaleAt: now });
    if (autoscale) this.autoscaled.set(record.name, autoscale);
    await this.reconcile();
    return this.view(request.name);
  }

  async scale(name: string, change: ScaleRequest): Promise<DeploymentView> {
    const record = await this.deployment(name);
    let autoscale = record.autoscale;
    if (change.autoscale === false) autoscale = null;
    else if (change.autoscale !== undefined) autoscale = mergeAutoscale(record.autoscale, change.autoscale, change.replicas ?? record.replicas);
    let replicas = change.replicas ?? record.replicas;
    if (autoscale && change.replicas !== undefined) checkCountInRange(autoscale, replicas);
    // A range set or moved takes the count into it at once.
    if (autoscale) replicas = Math.min(autoscale.maxReplicas, Math.max(autoscale.minReplicas, replicas));
    if (autoscale) this.autoscaled.set(name, autoscale);
    else this.autoscaled.delete(name);
    await this.putCount({ ...record, autoscale }, replicas, 'set by an operator');
    await this.reconcile();
    // Held requests of a deployment that no longer autoscales go on to the 503 they would have got unheld.
    if (!autoscale) this.held.wake(name);
    return this.view(name);
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.store.deleteDeployment(name);
    this.placements.delete(name);
    this.autoscaled.delete(name);
    this.scaling.delete(name);
    this.backoff.delete(name);
    this.retryPending.delete(name);
    await this.reconcile();
    this.held.wake(name);
    return removed;
  }

  async deployments(): Promise<DeploymentView[]> {
    const replicas = await this.store.listReplicas();
    return (await this.store.listDeployments()).map((record) => this.viewOf(record, replicas));
  }

  async explain(name: string): Promise<string[]> {
    const record = await this.deployment(name);
    const replicas = (await this.store.listReplicas()).filter((replica) => replica.deployment === name);
    const lines = [
      `${name}: ${replicas.length} of ${record.replicas} replicas placed (${record.source}, ctx ${record.contextSize}, slots ${record.slots}, device ${record.device})`,
    ];
    if (record.autoscale) lines.push(describeAutoscale(record.autoscale));
    const last = this.scaling.get(name)?.last;
    if (last) lines.push(`last scale: ${last.from} -> ${last.to} at ${new Date(last.at).toISOString()}: ${last.reason}`);
    const backoff = this.backoff.get(name);
    if (backoff) lines.push(this.backoffText(name, backoff));
    for (const replica of replicas)
      lines.push(`  ${replica.id} on ${replica.worker}: ${this.ready.has(replica.id) ? 'ready' : replica.state}${replica.error ? ` (${replica.error})` : ''}`);
    const problem = this.problems.get(name);
    if (problem) lines.push(problem);
    const decision = this.placements.get(name);
    if (decision) {
      lines.push('last placement decision:');
      lines.push(...explainPlacement(decision));
    } else if (!problem) {
      const memory = await this.memoryOf(record);
      const workers = workerSnapshots(
        await this.store.listWorkers(),
        [],
        (worker) => this.health.state(worker),
        () => undefined,
      );
      lines.push('where placement would put every replica now, from scratch:');
      lines.push(...explainPlacement(placeDeployment({ name, replicas: record.replicas, device: record.device, memory }, workers)));
    }
    return lines;
  }

  async workers(): Promise<WorkerView[]> {
    const replicas = await this.store.listReplicas();
    const reports = new Map(this.health.report().map((report) => [report.name, report]));
    return (await this.store.listWorkers()).map((worker) => {
      const report = reports.get(worker.name);
      const state = report?.state === undefined || report.state === 'unreachable' ? 'unreachable' : worker.draining ? 'draining' : 'ready';
      return {
        kind: 'joined' as const,
        name: worker.name,
        endpoint: worker.endpoint,
        hardware: worker.hardware,
        load: worker.load,
        draining: worker.draining,
        joinedAt: worker.joinedAt,
        lastHeartbeatAt: worker.lastHeartbeatAt,
        state,
        silentMs: Math.round(report?.silentMs ?? this.clock.now() - worker.lastHeartbeatAt),
        replicas: replicas.filter((replica) => replica.worker === worker.name).map((replica) => replica.id),
      };
    });
  }

  async drain(name: string, draining: boolean): Promise<WorkerView> {
    if (!(await this.store.setDraining(name, draining)))
      throw new NimbusError('not_found', `No worker '${name}'. 'nimbus workers' lists the workers of the pool.`, { param: 'name' });
    await this.reconcile();
    return (await this.workers()).find((worker) => worker.name === name)!;
  }

  private reconcileLater(): void {
    this.reconcile().catch((error: unknown) => this.options.onError?.(error));
  }

  private autoscaleLater(): void {
    this.autoscale().catch((error: unknown) => this.options.onError?.(error));
  }

  private async autoscaleOnce(): Promise<void> {
    const now = this.clock.now();
    this.held.expire(now);
    let changed = false;
    for (const name of [...this.retryPending]) {
      if (!mayPlaceAgain(this.backoff.get(name), now)) continue;
      this.retryPending.delete(name);
      changed = true;
    }
    if (this.autoscaled.size > 0) {
      const all = await this.store.listDeployments();
      const replicas = await this.store.listReplicas();
      const workers = await this.store.listWorkers();
      for (const deployment of all.filter((candidate) => candidate.autoscale)) {
        const own = replicas.filter((replica) => replica.deployment === deployment.name);
        const ready = own.filter((replica) => this.serves(replica)).length;
        const state = this.scaleStateOf(deployment.name, now);
        const decision = decideScale({
          spec: deployment.autoscale!,
          current: deployment.replicas,
          ready,
          starting: Math.max(0, deployment.replicas - ready),
          demand: this.demandOf(deployment.name, own, replicas, workers),
          held: this.held.count(deployment.name),
          lastAboveTargetAt: state.lastAboveTargetAt,
          lastScaleAt: state.lastScaleAt,
          now,
          room: await this.roomFor(deployment, all, own, replicas, workers),
        });
        if (decision.busy) state.lastAboveTargetAt = now;
        if (decision.replicas === deployment.replicas) continue;
        // Read again: an operator may have changed the deployment since the list above.
        const fresh = await this.store.getDeployment(deployment.name);
        if (!fresh?.autoscale || fresh.replicas !== deployment.replicas) continue;
        await this.putCount(fresh, decision.replicas, decision.reason);
        changed = true;
      }
    }
    if (changed) await this.reconcile();
  }

  /** Persists a deployment's new count (the one path of operators and the autoscaler) and remembers the change. */
  private async putCount(record: DeploymentRecord, replicas: number, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.store.putDeployment({ ...record, replicas, updatedAt: now });
    const state = this.scaleStateOf(record.name, now);
    state.lastScaleAt = now;
    if (replicas === record.replicas) return;
    state.last = { at: now, from: record.replicas, to: replicas, reason };
    this.options.onScale?.(record.name, state.last);
  }

  private scaleStateOf(name: string, now: number): ScaleState {
    let state = this.scaling.get(name);
    if (!state) this.scaling.set(name, (state = { lastAboveTargetAt: now, lastScaleAt: now }));
    return state;
  }

  /**
   * Requests queued or running on a deployment's replicas, plus those held for it. Two counts of
   * the same requests, so the larger one is taken, not their sum: this control plane's own (exact
   * and current), and its workers' heartbeats (they also see requests sent by another control
   * plane on the same store, one beat late), a worker's load split evenly among the deployments it runs.
   */
  private demandOf(name: string, own: readonly PoolReplicaRecord[], replicas: readonly PoolReplicaRecord[], workers: readonly WorkerRecord[]): number {
    let reported = 0;
    for (const worker of workers) {
      if (!own.some((replica) => replica.worker === worker.name) || this.health.state(worker.name) === 'unreachable') continue;
      const sharing = new Set(replicas.filter((replica) => replica.worker === worker.name).map((replica) => replica.deployment)).size;
      reported += (worker.load.activeSequences + worker.load.queueDepth) / Math.max(1, sharing);
    }
    return Math.max(this.options.serving.inFlight(name), reported) + this.held.count(name);
  }

  /** How many more replicas of a deployment fit now: ready workers without one that have room, less replicas wanted and not yet placed. */
  private async roomFor(
    deployment: DeploymentRecord,
    deployments: readonly DeploymentRecord[],
    own: readonly PoolReplicaRecord[],
    replicas: readonly PoolReplicaRecord[],
    workers: readonly WorkerRecord[],
  ): Promise<number> {
    let memory: MemoryEstimate;
    try {
      memory = await this.memoryOf(deployment);
    } catch {
      return 0;
    }
    const hosts = new Set(own.map((replica) => replica.worker));
    const snapshots = workerSnapshots(
      workers,
      replicas,
      (name) => this.health.state(name),
      (name) => this.memory.get(this.memoryKey(deployments, name)),
    );
    const free = snapshots.filter((worker) => !hosts.has(worker.name) && 'fit' in fitOnWorker(worker, memory, deployment.device)).length;
    return Math.max(0, free - Math.max(0, deployment.replicas - own.length));
  }

  /** Whether some replica of a deployment serves now. */
  private servable(name: string): boolean {
    return (this.served.get(name) ?? []).some((replica) => this.serves(replica));
  }

  /** Lets held requests go on where their deployment has a replica serving now. */
  private wakeHeld(): void {
    for (const name of this.held.deployments()) if (this.servable(name)) this.held.wake(name);
  }

  private async reconcileOnce(): Promise<void> {
    const deployments = await this.store.listDeployments();
    const names = new Set(deployments.map((deployment) => deployment.name));
    const specs: DeploymentSpec[] = [];
    this.autoscaled.clear();
    for (const deployment of deployments) if (deployment.autoscale) this.autoscaled.set(deployment.name, deployment.autoscale);
    for (const deployment of deployments) {
      try {
        specs.push({ name: deployment.name, replicas: deployment.replicas, device: deployment.device, memory: await this.memoryOf(deployment) });
        this.problems.delete(deployment.name);
      } catch (error) {
        this.problems.set(deployment.name, `cannot size ${deployment.source}: ${(error as Error).message}`);
      }
    }
    let replicas = await this.store.listReplicas();
    // A replica its worker could not load is forgotten, so that it is placed again (maybe elsewhere),
    // once its deployment's backoff has passed: one step of backoff per reconcile that finds failures.
    const started = this.clock.now();
    for (const name of new Set(
      replicas.filter((replica) => replica.state === 'failed' && names.has(replica.deployment)).map((replica) => replica.deployment),
    )) {
      const error = replicas.find((replica) => replica.deployment === name && replica.state === 'failed')?.error ?? 'failed to load';
      this.backoff.set(name, afterLoadFailure(this.backoff.get(name), started, error, this.loadBackoffPolicy));
      this.retryPending.add(name);
    }
    for (const replica of replicas.filter((candidate) => candidate.state === 'failed' || !names.has(candidate.deployment))) {
      await this.store.deleteReplica(replica.id);
    }
    replicas = replicas.filter((replica) => replica.state !== 'failed' && names.has(replica.deployment));
    // In backoff, a deployment keeps what it has (replacing replicas on lost workers) and gets no new ones.
    for (const spec of specs) {
      if (mayPlaceAgain(this.backoff.get(spec.name), started)) continue;
      spec.replicas = Math.min(spec.replicas, replicas.filter((replica) => replica.deployment === spec.name).length);
    }
    const workers = await this.store.listWorkers();
    this.syncFromStore(workers, replicas);
    const stateOf = (name: string) => this.health.state(name);
    const plan = reconcilePool(
      specs,
      replicas,
      workerSnapshots(workers, replicas, stateOf, (name) => this.memory.get(this.memoryKey(deployments, name))),
    );
    // A draining replica keeps serving until its deployment has the wanted count ready elsewhere.
    const readyElsewhere = (deployment: string): number =>
      replicas.filter(
        (replica) => replica.deployment === deployment && this.ready.has(replica.id) && stateOf(replica.worker) === 'ready' && !draining.has(replica.worker),
      ).length;
    const draining = new Set(workers.filter((worker) => worker.draining).map((worker) => worker.name));
    const wanted = new Map(deployments.map((deployment) => [deployment.name, deployment.replicas]));
    const relieved = plan.stop.filter((replica) => readyElsewhere(replica.deployment) >= (wanted.get(replica.deployment) ?? 0));
    for (const replica of [...plan.lost, ...relieved]) {
      await this.store.deleteReplica(replica.id);
      this.ready.delete(replica.id);
    }
    const now = this.clock.now();
    for (const result of plan.placements) {
      // A worker serves a deployment under its name, so it runs at most one replica of it.
      const hosts = new Set(
        replicas.filter((replica) => replica.deployment === result.deployment && !plan.lost.includes(replica)).map((replica) => replica.worker),
      );
      const doubled: string[] = [];
      for (const fit of result.placements) {
        if (hosts.has(fit.worker)) {
          doubled.push(fit.worker);
          continue;
        }
        hosts.add(fit.worker);
        await this.store.putReplica({
          id: newId('rep_', 12),
          deployment: result.deployment,
          worker: fit.worker,
          state: 'assigned',
          error: null,
          createdAt: now,
          updatedAt: now,
        });
      }
      const refusal =
        doubled.length > 0 ? `${doubled.length} replica(s) found room only on workers that already run one (${doubled.join(', ')}); add a worker.` : undefined;
      this.placements.set(result.deployment, refusal && !result.refusal ? { ...result, refusal } : result);
    }
    // Scaled down: replicas beyond the wanted count go, those not yet serving first, then those already
    // retiring, then those with the fewest requests in flight from here, then the newest (draining ones go
    // above). One with requests in flight first stops taking new ones and goes once they end.
    let current = await this.store.listReplicas();
    const surplusRetiring = new Set<string>();
    for (const deployment of deployments) {
      const own = current.filter((replica) => replica.deployment === deployment.name && !draining.has(replica.worker));
      const surplus = own.length - deployment.replicas;
      if (surplus <= 0) continue;
      const busy = (replica: PoolReplicaRecord): number => this.options.serving.inFlight(deployment.name, `${replica.worker}/${replica.id}`);
      const order = [...own].sort(
        (a, b) =>
          Number(this.ready.has(a.id)) - Number(this.ready.has(b.id)) ||
          Number(this.retiring.has(b.id)) - Number(this.retiring.has(a.id)) ||
          busy(a) - busy(b) ||
          b.createdAt - a.createdAt,
      );
      for (const replica of order.slice(0, surplus)) {
        const since = this.retiring.get(replica.id) ?? now;
        if (this.ready.has(replica.id) && busy(replica) > 0 && now - since < retireTimeoutMs) {
          this.retiring.set(replica.id, since);
          surplusRetiring.add(replica.id);
          continue;
        }
        await this.store.deleteReplica(replica.id);
        this.ready.delete(replica.id);
        this.retiring.delete(replica.id);
      }
    }
    // A retiring replica that is no longer surplus (demand came back, or it went) serves again or is forgotten.
    for (const id of [...this.retiring.keys()]) if (!surplusRetiring.has(id)) this.retiring.delete(id);
    current = await this.store.listReplicas();
    this.refreshServing(deployments, current, workers);
    this.wakeHeld();
  }

  /**
   * Takes in what another control-plane process on the same store recorded: heartbeats it
   * received (recent ones count as beats here) and replicas its workers reported ready.
   */
  private syncFromStore(workers: readonly WorkerRecord[], replicas: readonly PoolReplicaRecord[]): void {
    for (const worker of workers) {
      if (worker.lastHeartbeatAt <= (this.lastSeen.get(worker.name) ?? -Infinity)) continue;
      this.lastSeen.set(worker.name, worker.lastHeartbeatAt);
      if (this.clock.now() - worker.lastHeartbeatAt < this.silenceLimitMs) this.health.beat(worker.name, worker.load);
    }
    for (const replica of replicas) {
      if (replica.state === 'ready') this.ready.add(replica.id);
      else this.ready.delete(replica.id);
    }
  }

  /** Gives the pool engine every deployment and its replicas; closes engines of replicas that went. */
  private refreshServing(deployments: readonly DeploymentRecord[], replicas: readonly PoolReplicaRecord[], workers: readonly WorkerRecord[]): void {
    const byName = new Map(workers.map((worker) => [worker.name, worker]));
    const live = new Set<string>();
    for (const deployment of deployments) {
      if (this.routing.get(deployment.name) !== deployment.routing) {
        this.options.serving.deploy(deployment.name, createRouter(parseRoutingPolicy(deployment.routing)));
        this.routing.set(deployment.name, deployment.routing);
      }
      const served = [];
      this.served.set(
        deployment.name,
        replicas.filter((candidate) => candidate.deployment === deployment.name && byName.has(candidate.worker)),
      );
      for (const replica of replicas.filter((candidate) => candidate.deployment === deployment.name)) {
        const worker = byName.get(replica.worker);
        if (!worker) continue;
        live.add(replica.id);
        served.push({ id: `${worker.name}/${replica.id}`, worker: worker.name, engine: this.engineFor(worker, replica), healthy: () => this.serves(replica) });
      }
      this.options.serving.setReplicas(deployment.name, served);
    }
    for (const name of [...this.routing.keys()]) {
      if (deployments.some((deployment) => deployment.name === name)) continue;
      this.options.serving.undeploy(name);
      this.routing.delete(name);
      this.served.delete(name);
    }
    for (const [id, entry] of [...this.engines]) {
      if (live.has(id)) continue;
      this.engines.delete(id);
      entry.engine.close().catch((error: unknown) => this.options.onError?.(error));
    }
  }

  /** Whether a replica takes requests: loaded, and its worker beating. */
  private serves(replica: PoolReplicaRecord): boolean {
    const state = this.health.state(replica.worker);
    return this.ready.has(replica.id) && !this.retiring.has(replica.id) && (state === 'ready' || state === 'draining');
  }

  private engineFor(worker: WorkerRecord, replica: PoolReplicaRecord): Engine {
    const key = `${worker.endpoint}\u0000${worker.inferenceSecret}`;
    const known = this.engines.get(replica.id);
    if (known?.key === key) return known.engine;
    if (known) known.engine.close().catch((error: unknown) => this.options.onError?.(error));
    const engine = this.options.replicaEngine(worker, replica);
    this.engines.set(replica.id, { key, engine });
    return engine;
  }

  private async assignmentsOf(replicas: readonly PoolReplicaRecord[]): Promise<ReplicaAssignment[]> {
    const assignments: ReplicaAssignment[] = [];
    for (const replica of replicas) {
      const deployment = await this.store.getDeployment(replica.deployment);
      if (!deployment) continue;
      const path = await this.pathOf(deployment.source);
      const digest = await this.digests.of(path);
      assignments.push({
        replica: replica.id,
        deployment: deployment.name,
        file: `/v1/pool/files/${encodeURIComponent(deployment.name)}`,
        fileName: basename(path),
        size: digest.size,
        sha256: digest.sha256,
        contextSize: deployment.contextSize,
        slots: deployment.slots,
        device: deployment.device,
      });
    }
    return assignments;
  }

  private async deployment(name: string): Promise<DeploymentRecord> {
    const record = await this.store.getDeployment(name);
    if (!record) throw new NimbusError('not_found', `No deployment '${name}'. 'nimbus deployments' lists them.`, { param: 'name' });
    return record;
  }

  private async view(name: string): Promise<DeploymentView> {
    return this.viewOf(await this.deployment(name), await this.store.listReplicas());
  }

  private viewOf(record: DeploymentRecord, replicas: readonly PoolReplicaRecord[]): DeploymentView {
    const placed = replicas
      .filter((replica) => replica.deployment === record.name)
      .map((replica) => ({
        ...replica,
        state: this.retiring.has(replica.id) ? ('retiring' as const) : this.ready.has(replica.id) ? ('ready' as const) : replica.state,
      }));
    const backoff = this.backoff.get(record.name);
    const waiting = backoff && !mayPlaceAgain(backoff, this.clock.now()) ? this.backoffText(record.name, backoff) : undefined;
    const refusal = placed.length < record.replicas ? (this.problems.get(record.name) ?? waiting ?? this.placements.get(record.name)?.refusal) : undefined;
    const last = this.scaling.get(record.name)?.last;
    const held = this.held.count(record.name);
    return {
      ...record,
      placed,
      ...(refusal ? { refusal } : {}),
      ...(last ? { lastScale: last } : {}),
      ...(held > 0 ? { held } : {}),
      ...(backoff ? { loadBackoff: backoff } : {}),
    };
  }

  private backoffText(name: string, backoff: LoadBackoff): string {
    const waitMs = Math.max(0, backoff.retryAt - this.clock.now());
    const when = waitMs > 0 ? `placed again in ${Math.ceil(waitMs / 1000)} s` : 'placed again at the next reconcile';
    return `replicas of ${name} failed to load ${backoff.failures} time(s) in a row (last: ${backoff.lastError}); ${when}. A replica that loads ends the backoff.`;
  }

  private pathOf(source: string): Promise<string> {
    let path = this.paths.get(source);
    if (!path) {
      path = this.options.resolveModel(source);
      path.catch(() => this.paths.delete(source));
      this.paths.set(source, path);
    }
    return path;
  }

  private memoryKey(deployments: readonly DeploymentRecord[], name: string): string {
    const deployment = deployments.find((candidate) => candidate.name === name);
    return deployment ? `${deployment.source}\u0000${deployment.contextSize}\u0000${deployment.slots}` : '';
  }

  private async memoryOf(deployment: DeploymentRecord): Promise<MemoryEstimate> {
    const key = `${deployment.source}\u0000${deployment.contextSize}\u0000${deployment.slots}`;
    const known = this.memory.get(key);
    if (known) return known;
    const header = await readGgufHeader(await this.pathOf(deployment.source));
    const memory = estimateMemory(header, { contextSize: deployment.contextSize, slots: deployment.slots });
    this.memory.set(key, memory);
    return memory;
  }
}
