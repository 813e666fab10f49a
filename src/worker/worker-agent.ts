/**
 * The worker agent: joins the control plane with a token, beats every interval with its load,
 * hardware and the state of each replica, and makes the replicas it runs match the assignments
 * each heartbeat answers with: new ones are fetched (from the control plane's model cache,
 * resumable and checked) and loaded, dropped ones unloaded. A control plane that no longer knows
 * the worker (401) is joined again with the token. The engine and the download are injected.
 */
import type { HeartbeatAnswer, JoinAnswer, ReplicaAssignment, ReplicaReport } from '../core/pool-control.js';
import type { WorkerHardware, WorkerLoadReport } from '../core/pool-store.js';
import { prefixBlockChars } from '../cluster/routing/routing-keys.js';

/** What the agent needs of the engine that runs replicas (the llama engine). */
export interface ReplicaHost {
  /** `spareSlots`: sequences beyond `slots` for interactive requests while batch lines hold the slots (decision 0017). */
  addModel(options: { id: string; path: string; contextSize: number; slots: number; spareSlots: number; gpuLayers: 'auto' | number }): Promise<void>;
  removeModel(id: string): Promise<boolean>;
  models(): ReadonlyArray<{ id: string; state: 'loading' | 'ready' | 'failed'; error?: string }>;
  load(): { active: number; queued: number };
  /** What a ready model's caches hold, by prefix key (held-prefixes.ts); reported with the replica. */
  heldPrefixes?(id: string): { keys: string[]; complete: boolean } | undefined;
  /** A ready model's KV memory in tokens (its slots' context and its prompt cache); reported with the replica where known. */
  kvTokens?(id: string): number | undefined;
}

/** Options of `WorkerAgent`. */
export interface WorkerAgentOptions {
  /**
   * The control planes' base URLs (`http://10.0.0.2:8080`): any of them answers for the pool, as
   * they share one store. The agent talks to one and moves to the next when it does not answer
   * (connection refused, a timeout, a 503 while it drains), so it keeps beating through a survivor.
   */
  controlPlanes: readonly string[];
  token: string;
  name: string;
  /** Base URL of this worker's own OpenAI-compatible server. */
  endpoint: string;
  host: ReplicaHost;
  hardware: () => Promise<WorkerHardware>;
  /** Downloads an assignment's GGUF (with the worker's credential) and resolves to its local path. */
  fetchModel: (assignment: ReplicaAssignment, credential: string) => Promise<string>;
  /** Tokens generated since the last call (for tokens/s). */
  takeGeneratedTokens?: () => number;
  /** Bytes in use by this process's models. */
  memoryInUse?: () => number;
  onError?: (error: unknown) => void;
  onChange?: (message: string) => void;
}

/** A control-plane call that failed; `status` 401 means "join again". */
export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export class WorkerAgent {
  private credentials: JoinAnswer | undefined;
  /** Replicas being fetched: id -> error ('' while fetching). */
  private readonly pending = new Map<string, string>();
  /** Replicas handed to the engine: id -> the deployment name it serves them under. */
  private readonly running = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastBeat = Date.now();

  /** Which of `controlPlanes` it talks to now. */
  private current = 0;

  constructor(private readonly options: WorkerAgentOptions) {
    if (options.controlPlanes.length === 0) throw new Error('A worker needs at least one control plane address (--join).');
  }

  /** The control plane it talks to now (model files are downloaded from it). */
  get controlPlane(): string {
    return this.options.controlPlanes[this.current]!;
  }

  /** The secret the control plane presents to this worker's inference endpoint; undefined before joining. */
  get inferenceSecret(): string | undefined {
    return this.credentials?.inferenceSecret;
  }

  /** Joins, beats once, and keeps beating until `stop`. */
  async start(): Promise<JoinAnswer> {
    const answer = await this.join();
    await this.beat().catch((error: unknown) => this.options.onError?.(error));
    this.schedule();
    return answer;
  }

  /** Stops beating (the control plane then marks the worker unreachable). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Stops beating and tells the control plane, which moves this worker's replicas at once. Best effort. */
  async leave(): Promise<void> {
    this.stop();
    if (!this.credentials) return;
    await this.call('/v1/pool/workers/leave', {}).catch((error: unknown) => this.options.onError?.(error));
  }

  /** One heartbeat and the replica changes it asks for. */
  async beat(): Promise<void> {
    let answer: HeartbeatAnswer;
    try {
      answer = await this.call<HeartbeatAnswer>('/v1/pool/workers/heartbeat', await this.heartbeatBody());
    } catch (error) {
      if (!(error instanceof ControlPlaneError) || error.status !== 401) throw error;
      this.options.onChange?.('the control plane does not know this worker any more: joining again');
      await this.join();
      answer = await this.call<HeartbeatAnswer>('/v1/pool/workers/heartbeat', await this.heartbeatBody());
    }
    this.apply(answer.assignments);
  }

  private async join(): Promise<JoinAnswer> {
    const { token, name, endpoint } = this.options;
    this.credentials = await this.call<JoinAnswer>('/v1/pool/workers/join', { token, name, endpoint, hardware: await this.options.hardware() }, false);
    return this.credentials;
  }

  /**
   * Beats at a steady rate: the next beat is due one interval after the last one started, not
   * after its answer came, so a slow round trip does not stretch the silence the control plane
   * sees (it moves requests off a worker silent for two intervals). One beat at a time.
   */
  private schedule(startedAt = performance.now()): void {
    if (this.stopped) return;
    const interval = this.credentials?.heartbeatIntervalMs ?? 5000;
    this.timer = setTimeout(
      () => {
        const started = performance.now();
        this.beat()
          .catch((error: unknown) => this.options.onError?.(error))
          .finally(() => this.schedule(started));
      },
      Math.max(0, startedAt + interval - performance.now()),
    );
  }

  private async heartbeatBody(): Promise<unknown> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastBeat) / 1000);
    this.lastBeat = now;
    const load = this.options.host.load();
    const report: WorkerLoadReport = {
      activeSequences: load.active,
      queueDepth: load.queued,
      tokensPerSecond: Math.round(((this.options.takeGeneratedTokens?.() ?? 0) / seconds) * 10) / 10,
      memoryInUseBytes: this.options.memoryInUse?.() ?? 0,
    };
    return { load: report, hardware: await this.options.hardware(), replicas: this.reports() };
  }

  private reports(): ReplicaReport[] {
    const statuses = new Map(this.options.host.models().map((status) => [status.id, status]));
    const reports: ReplicaReport[] = [...this.pending.entries()].map(([id, error]) =>
      error ? { id, state: 'failed' as const, error } : { id, state: 'loading' as const },
    );
    for (const [id, deployment] of this.running) {
      const status = statuses.get(deployment);
      if (!status) continue;
      if (status.state === 'failed') {
        reports.push({ id, state: 'failed', error: status.error ?? 'failed to load' });
        continue;
      }
      const ready = status.state === 'ready';
      const held = ready ? this.options.host.heldPrefixes?.(deployment) : undefined;
      const kvTokens = ready ? this.options.host.kvTokens?.(deployment) : undefined;
      reports.push({
        id,
        state: status.state,
        ...(held ? { prefixKeys: held.keys, prefixKeysComplete: held.complete, prefixBlockChars } : {}),
        ...(kvTokens !== undefined && kvTokens > 0 ? { kvTokens: Math.floor(kvTokens) } : {}),
      });
    }
    return reports;
  }

  /** Starts what is new, stops what is gone; loading happens in the background. */
  private apply(assignments: readonly ReplicaAssignment[]): void {
    const wanted = new Set(assignments.map((assignment) => assignment.replica));
    for (const [id, deployment] of [...this.running]) {
      if (wanted.has(id)) continue;
      this.running.delete(id);
      this.options.onChange?.(`stopping replica ${id} of ${deployment}`);
      this.options.host.removeModel(deployment).catch((error: unknown) => this.options.onError?.(error));
    }
    for (const id of [...this.pending.keys()]) if (!wanted.has(id)) this.pending.delete(id);
    for (const assignment of assignments) {
      if (this.running.has(assignment.replica) || this.pending.has(assignment.replica)) continue;
      this.pending.set(assignment.replica, '');
      this.options.onChange?.(`starting replica ${assignment.replica} of ${assignment.deployment}`);
      void this.startReplica(assignment);
    }
  }

  private async startReplica(assignment: ReplicaAssignment): Promise<void> {
    try {
      const path = await this.options.fetchModel(assignment, this.credentials!.credential);
      if (!this.pending.has(assignment.replica)) return;
      this.pending.delete(assignment.replica);
      this.running.set(assignment.replica, assignment.deployment);
      // Served under the deployment's name, so answers name the model the client asked for.
      await this.options.host.addModel({
        id: assignment.deployment,
        path,
        contextSize: assignment.contextSize,
        slots: assignment.slots,
        // An assignment from a control plane older than spare slots carries none: the replica gets none.
        spareSlots: assignment.spareSlots ?? 0,
        gpuLayers: assignment.device === 'cpu' ? 0 : 'auto',
      });
      // Tell the control plane at once rather than at the next beat: the replica serves sooner.
      if (this.running.has(assignment.replica)) await this.beat().catch((error: unknown) => this.options.onError?.(error));
    } catch (error) {
      if (this.pending.has(assignment.replica)) this.pending.set(assignment.replica, (error as Error).message || 'download failed');
      this.options.onError?.(error);
    }
  }

  private async call<T>(path: string, body: unknown, authenticated = true): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authenticated && this.credentials) headers.authorization = `Bearer ${this.credentials.credential}`;
    const addresses = this.options.controlPlanes;
    // With several, a silent one is given up on sooner: the next may answer within the heartbeat.
    const timeoutMs = addresses.length > 1 ? 3_000 : 10_000;
    let response: Response | undefined;
    let lastError: unknown;
    for (let tried = 0; tried < addresses.length; tried += 1) {
      const index = (this.current + tried) % addresses.length;
      try {
        response = await fetch(`${addresses[index]}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        lastError = error;
        continue;
      }
      // A control plane that drains answers 503: another takes the beat.
      if (response.status === 503 && tried < addresses.length - 1) continue;
      if (index !== this.current) this.options.onChange?.(`talking to control plane ${addresses[index]} (${addresses[this.current]} did not answer)`);
      this.current = index;
      break;
    }
    if (!response) throw lastError;
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        // Not JSON: the text says it.
      }
      throw new ControlPlaneError(response.status, `control plane ${path}: HTTP ${response.status}: ${message}`);
    }
    return JSON.parse(text) as T;
  }
}
