/**
 * The worker API of the joined-worker pool: join tokens (stored as sha256), joining (a credential
 * and an inference secret for the worker), heartbeats (load, hardware and replica states in;
 * the replicas the worker must run out), leaving, model files, draining, and the workers as the
 * admin API shows them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Clock } from '../../core/clock.js';
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type {
  HeartbeatAnswer,
  HeartbeatRequest,
  JoinAnswer,
  JoinRequest,
  ModelFile,
  ReplicaAssignment,
  WorkerControl,
  WorkerView,
} from '../../core/pool-control.js';
import type { PoolReplicaRecord, PoolStore, WorkerRecord } from '../../core/pool-store.js';
import type { ProvisionerChange } from '../../core/replica-provisioner.js';
import type { ModelFiles } from './model-files.js';
import type { WorkerBook } from './worker-book.js';
import { workerViewState } from './worker-view-state.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const secret = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;
const zeroLoad = { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 };

/** What the membership shares with the provisioner of the same pool. */
export interface MembershipParts {
  store: PoolStore;
  clock: Clock;
  book: WorkerBook;
  files: ModelFiles;
  /** Tells the pool runtime's front what changed. */
  emit: (change: ProvisionerChange) => void;
}

/** Joins, heartbeats and the rest of the worker API. */
export class WorkerMembership implements WorkerControl {
  constructor(private readonly parts: MembershipParts) {}

  async createJoinToken(expiresInMs?: number): Promise<{ id: string; token: string; expiresAt: number | null }> {
    const { store, clock } = this.parts;
    const token = secret('nmj_');
    const record = { id: newId('jt_', 12), hash: sha256(token), createdAt: clock.now(), expiresAt: expiresInMs ? clock.now() + expiresInMs : null };
    await store.createJoinToken(record);
    return { id: record.id, token, expiresAt: record.expiresAt };
  }

  async join(request: JoinRequest): Promise<JoinAnswer> {
    const { store, clock, book } = this.parts;
    const token = await store.findJoinToken(sha256(request.token));
    if (!token || (token.expiresAt !== null && token.expiresAt <= clock.now())) {
      throw new NimbusError(
        'invalid_api_key',
        "The join token is unknown or expired. Create one on the control plane with 'nimbus workers token' and pass it with --token.",
      );
    }
    const known = await store.getWorker(request.name);
    const credential = secret('nmw_');
    const inferenceSecret = secret('nms_');
    const now = clock.now();
    await store.putWorker({
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
    book.beat(request.name, zeroLoad, now);
    this.parts.emit({ kind: 'changed' });
    return { name: request.name, credential, inferenceSecret, heartbeatIntervalMs: book.heartbeatIntervalMs };
  }

  async authenticateWorker(credential: string): Promise<WorkerRecord | undefined> {
    if (!credential.startsWith('nmw_')) return undefined;
    return this.parts.store.findWorkerByCredential(sha256(credential));
  }

  async heartbeat(worker: WorkerRecord, request: HeartbeatRequest): Promise<HeartbeatAnswer> {
    const { store, clock, book, emit } = this.parts;
    const before = book.stateOf(worker.name);
    const now = clock.now();
    book.beat(worker.name, request.load, now);
    await store.recordHeartbeat(worker.name, now, request.load, request.hardware);
    let changed = before === undefined || before === 'unreachable';
    const reports = new Map(request.replicas.map((report) => [report.id, report]));
    const mine = (await store.listReplicas()).filter((replica) => replica.worker === worker.name);
    for (const replica of mine) {
      const report = reports.get(replica.id);
      // Persisted, so that another control-plane process on the same store routes by it too.
      const state = report?.state === 'ready' ? 'ready' : report?.state === 'failed' ? 'failed' : 'assigned';
      book.setReady(replica, state === 'ready');
      if (state === 'ready') emit({ kind: 'ready', deployment: replica.deployment });
      if (state === 'ready' && report?.prefixKeys) {
        const { prefixKeys, prefixKeysComplete, prefixBlockChars } = report;
        emit({
          kind: 'cached',
          deployment: replica.deployment,
          host: replica.worker,
          replica: replica.id,
          prefixKeys,
          complete: prefixKeysComplete ?? true,
          prefixBlockChars: prefixBlockChars ?? 0,
        });
      }
      if (state === 'ready' && report?.kvTokens !== undefined) {
        emit({ kind: 'kv-size', deployment: replica.deployment, host: replica.worker, replica: replica.id, kvTokens: report.kvTokens });
      }
      if (state === replica.state) continue;
      await store.putReplica({ ...replica, state, error: state === 'failed' ? (report?.error ?? 'failed to load') : null, updatedAt: now });
      changed = true;
    }
    if (changed) emit({ kind: 'changed' });
    emit({ kind: 'beat' });
    return { assignments: await this.assignmentsOf(mine.filter((replica) => replica.state !== 'failed')) };
  }

  async leave(worker: WorkerRecord): Promise<void> {
    await this.parts.store.deleteWorker(worker.name);
    this.parts.book.forget(worker.name);
  }

  async modelFile(worker: WorkerRecord, deployment: string): Promise<ModelFile> {
    const { store, files } = this.parts;
    const assigned = (await store.listReplicas()).some((replica) => replica.worker === worker.name && replica.deployment === deployment);
    const record = assigned ? await store.getDeployment(deployment) : undefined;
    if (!record) throw new NimbusError('not_found', `No replica of '${deployment}' is assigned to worker '${worker.name}'.`);
    const path = await files.pathOf(record.source);
    return { path, size: (await stat(path)).size };
  }

  async workers(): Promise<WorkerView[]> {
    const { store, clock, book } = this.parts;
    const replicas = await store.listReplicas();
    return (await store.listWorkers()).map((worker) => {
      const placed = replicas.filter((replica) => replica.worker === worker.name).map((replica) => replica.id);
      return {
        kind: 'joined' as const,
        name: worker.name,
        endpoint: worker.endpoint,
        hardware: worker.hardware,
        load: worker.load,
        draining: worker.draining,
        joinedAt: worker.joinedAt,
        lastHeartbeatAt: worker.lastHeartbeatAt,
        state: workerViewState(book.stateOf(worker.name), worker.draining, placed.length),
        silentMs: Math.round(book.silentMs(worker.name) ?? clock.now() - worker.lastHeartbeatAt),
        replicas: placed,
      };
    });
  }

  async drain(name: string, draining: boolean): Promise<WorkerView> {
    if (!(await this.parts.store.setDraining(name, draining)))
      throw new NimbusError('not_found', `No worker '${name}'. 'nimbus workers' lists the workers of the pool.`, { param: 'name' });
    return (await this.workers()).find((worker) => worker.name === name)!;
  }

  async removeWorker(name: string): Promise<void> {
    const { store, book } = this.parts;
    const worker = await store.getWorker(name);
    if (!worker) throw new NimbusError('not_found', `No worker '${name}'. 'nimbus workers' lists the workers of the pool.`, { param: 'name' });
    const alive = book.stateOf(name);
    if (alive !== undefined && alive !== 'unreachable') {
      throw new NimbusError(
        'conflict',
        `Worker '${name}' is still beating, so it would join again: stop it instead (SIGTERM leaves the pool); to lose no request, drain it first with 'nimbus workers drain ${name}' and stop it once it reads drained.`,
        { param: 'name' },
      );
    }
    await store.deleteWorker(name);
    book.forget(name);
  }

  private async assignmentsOf(replicas: readonly PoolReplicaRecord[]): Promise<ReplicaAssignment[]> {
    const assignments: ReplicaAssignment[] = [];
    for (const replica of replicas) {
      const deployment = await this.parts.store.getDeployment(replica.deployment);
      if (deployment) assignments.push(await this.parts.files.assignment(replica, deployment));
    }
    return assignments;
  }
}
