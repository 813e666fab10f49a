/**
 * The control plane's pool runtime: workers join with a token and beat; deployments are
 * persisted; a reconcile loop (on join, heartbeat changes, deploy, scale, drain, and every
 * heartbeat interval, which is how silent workers are noticed) places and forgets replicas with
 * `reconcilePool`, persists them, answers each worker's heartbeat with the replicas it must run,
 * and keeps the pool engine's replicas current. The clock is injected; engines are built by the
 * caller (`replicaEngine`), so this folder knows no concrete engine.
 */
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  createRouter,
  defaultHeartbeatPolicy,
  estimateMemory,
  explainPlacement,
  parseRoutingPolicy,
  placeDeployment,
  reconcilePool,
  WorkerHealth,
  type DeploymentSpec,
  type HeartbeatPolicy,
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
  WorkerView,
} from '../core/pool-control.js';
import type { DeploymentRecord, PoolReplicaRecord, PoolStore, WorkerRecord } from '../core/pool-store.js';
import type { ReplicaRouter } from '../core/replica-router.js';
import { readGgufHeader } from '../gguf/index.js';
import { FileDigests } from './file-digest.js';
import { workerSnapshots } from './worker-snapshots.js';

/** What the runtime needs of the pool engine (`src/engines/pool`). */
export interface PoolServing {
  deploy(model: string, router: ReplicaRouter): void;
  setReplicas(model: string, replicas: ReadonlyArray<{ id: string; worker?: string; engine: Engine; healthy?: () => boolean }>): void;
  undeploy(model: string): void;
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
  /** Failures of the background loop (the loop keeps going). */
  onError?: (error: unknown) => void;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const secret = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;
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
  /** The newest heartbeat time of each worker this process has taken into its health book. */
  private readonly lastSeen = new Map<string, number>();
  private readonly silenceLimitMs: number;
  private readonly engines = new Map<string, { key: string; engine: Engine }>();
  private readonly routing = new Map<string, string>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PoolRuntimeOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.health = new WorkerHealth(this.clock, options.heartbeat);
    this.heartbeatIntervalMs = options.heartbeat?.intervalMs ?? defaultHeartbeatPolicy.intervalMs;
    this.silenceLimitMs = this.heartbeatIntervalMs * (options.heartbeat?.missedBeats ?? defaultHeartbeatPolicy.missedBeats);
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
  }

  /** Stops the loop; engines are closed by the pool engine's own close. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Runs a reconciliation now; one at a time, and a request during one runs another right after. */
  reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.reconcileOnce();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
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
      if (state === 'ready') this.ready.add(replica.id);
      else this.ready.delete(replica.id);
      if (state === replica.state) continue;
      await this.store.putReplica({ ...replica, state, error: state === 'failed' ? (report?.error ?? 'failed to load') : null, updatedAt: now });
      changed = true;
    }
    if (changed) this.reconcileLater();
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
    const record: DeploymentRecord = { ...request, autoscale: null, createdAt: now, updatedAt: now };
    try {
      await this.memoryOf(record);
    } catch (error) {
      throw new NimbusError('invalid_value', `Cannot deploy '${request.source}': ${(error as Error).message}`, { param: 'model' });
    }
    await this.store.putDeployment(record);
    await this.reconcile();
    return this.view(request.name);
  }

  async scale(name: string, replicas: number): Promise<DeploymentView> {
    const record = await this.deployment(name);
    await this.store.putDeployment({ ...record, replicas, updatedAt: this.clock.now() });
    await this.reconcile();
    return this.view(name);
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.store.deleteDeployment(name);
    this.placements.delete(name);
    await this.reconcile();
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
    for (const replica of replicas)
      lines.push(`  ${replica.id} on ${replica.worker}: ${this.ready.has(replica.id) ? 'ready' : replica.state}${replica.error ? ` (${replica.error})` : ''}`);
    const problem = this.problems.get(name);
    if (problem) lines.push(problem);
    const last = this.placements.get(name);
    if (last) {
      lines.push('last placement decision:');
      lines.push(...explainPlacement(last));
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

  private async reconcileOnce(): Promise<void> {
    const deployments = await this.store.listDeployments();
    const names = new Set(deployments.map((deployment) => deployment.name));
    const specs: DeploymentSpec[] = [];
    for (const deployment of deployments) {
      try {
        specs.push({ name: deployment.name, replicas: deployment.replicas, device: deployment.device, memory: await this.memoryOf(deployment) });
        this.problems.delete(deployment.name);
      } catch (error) {
        this.problems.set(deployment.name, `cannot size ${deployment.source}: ${(error as Error).message}`);
      }
    }
    let replicas = await this.store.listReplicas();
    // A replica its worker could not load is forgotten, so that it is placed again (maybe elsewhere).
    for (const replica of replicas.filter((candidate) => candidate.state === 'failed' || !names.has(candidate.deployment))) {
      await this.store.deleteReplica(replica.id);
    }
    replicas = replicas.filter((replica) => replica.state !== 'failed' && names.has(replica.deployment));
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
    // Scaled down: the newest replicas beyond the wanted count go, those not yet serving first (draining ones go above).
    let current = await this.store.listReplicas();
    for (const deployment of deployments) {
      const own = current.filter((replica) => replica.deployment === deployment.name && !draining.has(replica.worker));
      const surplus = own.length - deployment.replicas;
      if (surplus <= 0) continue;
      const order = [...own].sort((a, b) => Number(this.ready.has(a.id)) - Number(this.ready.has(b.id)) || b.createdAt - a.createdAt);
      for (const replica of order.slice(0, surplus)) {
        await this.store.deleteReplica(replica.id);
        this.ready.delete(replica.id);
      }
    }
    current = await this.store.listReplicas();
    this.refreshServing(deployments, current, workers);
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
    return this.ready.has(replica.id) && (state === 'ready' || state === 'draining');
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
      .map((replica) => ({ ...replica, state: this.ready.has(replica.id) ? ('ready' as const) : replica.state }));
    const refusal = placed.length < record.replicas ? (this.problems.get(record.name) ?? this.placements.get(record.name)?.refusal) : undefined;
    return { ...record, placed, ...(refusal ? { refusal } : {}) };
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
