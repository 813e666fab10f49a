/**
 * The control plane's pool runtime, a small front over its parts. Deployments are persisted; a
 * reconcile loop (`reconcile.ts`: on deploy, scale, drain, provisioner changes, and every
 * interval, which is how silent hosts are noticed) asks the provisioner to place and remove
 * replicas and keeps the pool engine's replicas current (`serving-sync.ts`); an autoscale tick
 * (`autoscale.ts`, every second) moves the count of deployments that autoscale and holds requests
 * at zero replicas until one is ready (`held-requests.ts`); a replica that fails to load puts its
 * deployment in backoff. Where replicas run is the provisioner's business (`ReplicaProvisioner`,
 * the joined workers in `joined/`); the worker API is passed through to `workers`. The clock is
 * injected; engines are built by the caller (`replicaEngine`), so this folder knows no concrete engine.
 * Where several control planes share the store, one leads (`leader-election.ts`): only it places,
 * removes and autoscales; the others keep their pool engines current and serve.
 */
import { defaultLoadBackoff, parseRoutingPolicy, type LoadBackoffPolicy } from '../cluster/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import { CoalescedRun } from '../core/coalesced-run.js';
import { NimbusError } from '../core/errors.js';
import {
  defaultSpareSlots,
  type DeploymentView,
  type DeployRequest,
  type HeartbeatAnswer,
  type HeartbeatRequest,
  type JoinAnswer,
  type JoinRequest,
  type ModelFile,
  type PoolControl,
  type ScaleEvent,
  type ScaleRequest,
  type WorkerControl,
  type WorkerView,
} from '../core/pool-control.js';
import type { DeploymentRecord, PoolStore, WorkerRecord } from '../core/pool-store.js';
import type { ProvisionerChange, ReplicaProvisioner } from '../core/replica-provisioner.js';
import { prefixBlockChars } from '../cluster/routing/routing-keys.js';
import { autoscaleOnce, putCount } from './autoscale.js';
import { checkCountInRange, mergeAutoscale } from './autoscale-settings.js';
import { deploymentView, explainDeployment } from './deployment-views.js';
import { PoolState, servingId, type PoolParts, type PoolServing } from './pool-state.js';
import { reconcileOnce } from './reconcile.js';
import { soleLeader, type Leadership } from './leader-election.js';
import { ServingSync, type ReplicaEngineFactory } from './serving-sync.js';
import { localDemandOnly, type DemandShare, type OthersDemand } from './shared-demand.js';

export type { PoolServing } from './pool-state.js';

/** Options of `PoolRuntime`. */
export interface PoolRuntimeOptions {
  store: PoolStore;
  serving: PoolServing;
  /** Where replicas run. */
  provisioner: ReplicaProvisioner;
  /** The worker API the routes call (the joined workers' `members`). */
  workers: WorkerControl;
  /**
   * Whether this control plane leads the pool (reconcile and autoscale) and the fence of its
   * placement writes: a `LeaderElection` where several share the store; alone, it always leads.
   */
  leadership?: Leadership;
  /**
   * Where several control planes share the store: each reports its held and in-flight requests
   * there, and the leader counts them all (`StoreDemandShare`); alone, nothing is shared.
   */
  demand?: DemandShare;
  /** An engine that reaches one replica at its endpoint (an OpenAI engine with its secret). */
  replicaEngine: ReplicaEngineFactory;
  clock?: Clock;
  /** How often the pool is reconciled without a reason (silent hosts are noticed so); default 5000 ms. */
  reconcileIntervalMs?: number;
  /** How often the autoscaler decides (and held requests' deadlines are checked); default 1000 ms. */
  autoscaleIntervalMs?: number;
  /** Backoff of deployments whose replicas fail to load; merged over 1 s doubling to 5 min. */
  loadBackoff?: Partial<LoadBackoffPolicy>;
  /** Failures of the background loop (the loop keeps going). */
  onError?: (error: unknown) => void;
  /** Every change of a deployment's count, by the autoscaler or an operator (for the log). */
  onScale?: (deployment: string, event: ScaleEvent) => void;
  /** A host (worker) the provisioner lost, or that answers again (for the log). */
  onHost?: (host: string, state: 'lost' | 'back', detail: string) => void;
  /** A deployment created, changed or removed through this control plane (the others are told, and read the store). */
  onDeployment?: (name: string, change: 'created' | 'changed' | 'removed') => void;
  /** Characters per prefix block the routing keys are hashed with (`routing.prefixBlockChars`): estimated-ttft reads blocks as tokens with it. */
  prefixBlockChars?: number;
  /** Whether workers' reports of what their caches hold reach the routers (`routing.workerCacheReports`). Default false (the config's default). */
  workerCacheReports?: boolean;
}

/** The pool's control-plane side; `start` it once, `stop` it on shutdown. */
export class PoolRuntime implements PoolControl {
  private readonly parts: PoolParts;
  private readonly state: PoolState;
  private readonly store: PoolStore;
  private readonly clock: Clock;
  private readonly provisioner: ReplicaProvisioner;
  private readonly workerApi: WorkerControl;
  private readonly sync: ServingSync;
  private readonly passes = new CoalescedRun(() => reconcileOnce(this.parts, this.sync));
  private readonly ticks = new CoalescedRun(async () => {
    if (await autoscaleOnce(this.parts)) await this.reconcile();
  });
  private readonly timers: NodeJS.Timeout[] = [];
  private unwatch: (() => void) | undefined;
  private unwatchLeadership: (() => void) | undefined;

  constructor(private readonly options: PoolRuntimeOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.provisioner = options.provisioner;
    this.workerApi = options.workers;
    this.state = new PoolState(this.provisioner);
    this.parts = {
      store: this.store,
      provisioner: this.provisioner,
      serving: options.serving,
      clock: this.clock,
      state: this.state,
      leadership: options.leadership ?? soleLeader,
      demand: options.demand ?? localDemandOnly,
      loadBackoff: { ...defaultLoadBackoff, ...options.loadBackoff } satisfies LoadBackoffPolicy,
      onError: (error) => options.onError?.(error),
      onScale: (deployment, event) => options.onScale?.(deployment, event),
      onHost: (host, state, detail) => options.onHost?.(host, state, detail),
    };
    this.sync = new ServingSync(this.parts, options.replicaEngine, options.prefixBlockChars);
  }

  /**
   * A worker's report of what a replica's caches hold: its deployment's router takes it (hashes
   * only; keys hashed with another block size than this control plane's are ignored).
   */
  private cached(change: Extract<ProvisionerChange, { kind: 'cached' }>): void {
    if (this.options.workerCacheReports !== true) return;
    if (change.prefixBlockChars !== (this.options.prefixBlockChars ?? prefixBlockChars)) return;
    const replica = servingId({ host: change.host, id: change.replica });
    this.parts.serving.cached?.(change.deployment, replica, change.prefixKeys, change.complete);
  }

  /** Loads the pool (known hosts get the grace of a fresh heartbeat) and starts the loops. */
  async start(): Promise<void> {
    await this.provisioner.start();
    this.unwatch = this.provisioner.watch((change) => {
      if (change.kind === 'ready') this.state.loaded(change.deployment);
      else if (change.kind === 'changed') this.reconcileLater();
      else if (change.kind === 'beat') this.state.wakeHeld();
      else if (change.kind === 'cached') this.cached(change);
      else if (change.kind === 'kv-size') this.parts.serving.kvSize?.(change.deployment, servingId({ host: change.host, id: change.replica }), change.kvTokens);
      else {
        this.parts.onHost(change.host, change.state, change.detail);
        this.reconcileLater();
      }
    });
    // A control plane that starts leading places at once what the one before it left undone.
    this.unwatchLeadership = this.parts.leadership.watch((leading) => {
      if (leading) this.reconcileLater();
    });
    // In the background: a deployment whose model must first be downloaded does not hold up the server's start.
    this.reconcileLater();
    const every = (ms: number, run: () => void): void => void this.timers.push(setInterval(run, ms).unref());
    every(this.options.reconcileIntervalMs ?? 5000, () => this.reconcileLater());
    every(this.options.autoscaleIntervalMs ?? 1000, () => this.autoscaleLater());
  }

  /** Stops the loops and answers held requests; engines are closed by the pool engine's own close. */
  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.unwatch?.();
    this.unwatchLeadership?.();
    this.releaseHeld();
    await this.ticks.current?.catch(() => undefined);
    await this.passes.current?.catch(() => undefined);
    // Its demand rows go with it, so the leader stops counting them at once rather than when they go stale.
    await this.parts.demand.publish([], this.clock.now()).catch((error: unknown) => this.parts.onError(error));
    await this.provisioner.close();
  }

  /** Answers every held request with a 503 (the server is shutting down): they must not hold up the drain. */
  releaseHeld(): void {
    this.state.held.releaseAll(new NimbusError('shutting_down', 'The server is shutting down before a replica became ready; retry on another instance.'));
  }

  /** Whether requests for `model` wait for a replica when none is ready: its deployment autoscales. */
  holds(model: string): boolean {
    return this.state.autoscaled.has(model);
  }

  /**
   * Holds a request until a replica of `model` is ready; rejects with 503 model_not_ready after
   * the deployment's `scaleFromZeroTimeoutMs` (checked each autoscale tick), with the signal's
   * reason when the client goes, or at shutdown. Asks the autoscaler at once, so a replica is
   * placed without waiting for the next tick.
   */
  waitForReplica(model: string, signal: AbortSignal): Promise<void> {
    const spec = this.state.autoscaled.get(model);
    if (!spec || this.state.servable(model)) return Promise.resolve();
    const waiting = this.state.held.hold(model, this.clock.now() + spec.scaleFromZeroTimeoutMs, spec.scaleFromZeroTimeoutMs, signal);
    this.autoscaleLater();
    return waiting;
  }

  /** One autoscale tick (`autoscale.ts`); one at a time, and a call during one runs another right after. */
  autoscale(): Promise<void> {
    return this.ticks.run();
  }

  /** Runs a reconciliation now; one at a time, and a request during one runs another right after. */
  reconcile(): Promise<void> {
    return this.passes.run();
  }

  createJoinToken(expiresInMs?: number): Promise<{ id: string; token: string; expiresAt: number | null }> {
    return this.workerApi.createJoinToken(expiresInMs);
  }

  join(request: JoinRequest): Promise<JoinAnswer> {
    return this.workerApi.join(request);
  }

  authenticateWorker(credential: string): Promise<WorkerRecord | undefined> {
    return this.workerApi.authenticateWorker(credential);
  }

  heartbeat(worker: WorkerRecord, request: HeartbeatRequest): Promise<HeartbeatAnswer> {
    return this.workerApi.heartbeat(worker, request);
  }

  async leave(worker: WorkerRecord): Promise<void> {
    await this.workerApi.leave(worker);
    await this.reconcile();
  }

  modelFile(worker: WorkerRecord, deployment: string): Promise<ModelFile> {
    return this.workerApi.modelFile(worker, deployment);
  }

  workers(): Promise<WorkerView[]> {
    return this.workerApi.workers();
  }

  async drain(name: string, draining: boolean): Promise<WorkerView> {
    await this.workerApi.drain(name, draining);
    await this.reconcile();
    return (await this.workerApi.workers()).find((worker) => worker.name === name)!;
  }

  async removeWorker(name: string): Promise<void> {
    await this.workerApi.removeWorker(name);
    await this.reconcile();
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
    const spareSlots = request.spareSlots ?? defaultSpareSlots;
    const record: DeploymentRecord = { name, source, replicas, device, contextSize, slots, spareSlots, routing, autoscale, createdAt: now, updatedAt: now };
    try {
      await this.provisioner.prepare(record);
    } catch (error) {
      throw new NimbusError('invalid_value', `Cannot deploy '${request.source}': ${(error as Error).message}`, { param: 'model' });
    }
    await this.store.putDeployment(record);
    this.options.onDeployment?.(record.name, 'created');
    this.state.scaling.set(record.name, { lastAboveTargetAt: now, lastScaleAt: now });
    if (autoscale) this.state.autoscaled.set(record.name, autoscale);
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
    if (autoscale) this.state.autoscaled.set(name, autoscale);
    else this.state.autoscaled.delete(name);
    await putCount(this.parts, { ...record, autoscale }, replicas, 'set by an operator');
    this.options.onDeployment?.(name, 'changed');
    await this.reconcile();
    // Held requests of a deployment that no longer autoscales go on to the 503 they would have got unheld.
    if (!autoscale) this.state.held.wake(name);
    return this.view(name);
  }

  async remove(name: string): Promise<boolean> {
    // Its replicas are orphans now: the reconcile removes them through the provisioner.
    const removed = await this.store.deleteDeployment(name);
    if (removed) this.options.onDeployment?.(name, 'removed');
    this.state.forget(name);
    await this.reconcile();
    this.state.held.wake(name);
    return removed;
  }

  /**
   * A model name this control plane does not serve: where another control plane created that
   * deployment since this one last read the store, reads it now (a reconcile), so the request
   * is served (or held) rather than refused for up to a heartbeat. True when it is a deployment.
   */
  async learn(name: string): Promise<boolean> {
    if (!(await this.store.getDeployment(name))) return false;
    await this.reconcile();
    return true;
  }

  /** Another control plane changed deployments (its notification): read the store now, not at the next interval. */
  changedElsewhere(): void {
    this.reconcileLater();
  }

  async deployments(): Promise<DeploymentView[]> {
    const observed = await this.provisioner.observe();
    const elsewhere = await this.heldElsewhere();
    return (await this.store.listDeployments()).map((record) => deploymentView(this.parts, record, observed, elsewhere.get(record.name)?.held));
  }

  async explain(name: string): Promise<string[]> {
    return explainDeployment(this.parts, await this.deployment(name), await this.provisioner.observe());
  }

  private reconcileLater(): void {
    this.reconcile().catch((error: unknown) => this.parts.onError(error));
  }

  private autoscaleLater(): void {
    this.autoscale().catch((error: unknown) => this.parts.onError(error));
  }

  private async deployment(name: string): Promise<DeploymentRecord> {
    const record = await this.store.getDeployment(name);
    if (!record) throw new NimbusError('not_found', `No deployment '${name}'. 'nimbus deployments' lists them.`, { param: 'name' });
    return record;
  }

  private async view(name: string): Promise<DeploymentView> {
    const elsewhere = await this.heldElsewhere();
    return deploymentView(this.parts, await this.deployment(name), await this.provisioner.observe(), elsewhere.get(name)?.held);
  }

  /** What the other control planes hold, as they last reported it; a store that cannot say shows this control plane's own. */
  private async heldElsewhere(): Promise<OthersDemand> {
    try {
      return await this.parts.demand.others(this.clock.now());
    } catch (error) {
      this.parts.onError(error);
      return new Map();
    }
  }
}
