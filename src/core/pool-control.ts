/**
 * What the HTTP layer asks of the pool runtime: the worker API (join, heartbeat, model files) and
 * the admin API (join tokens, deployments, workers). Implemented by `src/pool/pool-runtime.ts`
 * over `src/pool/joined/`; the routes in `src/api/routes/pool.ts` only parse, authenticate and call it.
 */
import type { AutoscaleSpec, DeploymentRecord, PoolReplicaRecord, WorkerHardware, WorkerLoadReport, WorkerRecord } from './pool-store.js';

/** A worker's replica as it reports it: loading, serving, or unable to load. */
export interface ReplicaReport {
  id: string;
  state: 'loading' | 'ready' | 'failed';
  error?: string;
  /**
   * A ready llama.cpp replica: the prefix keys (the router's block hashes, never text) its slots and
   * prompt cache hold, most recently used first, at most 256 (issue 24).
   */
  prefixKeys?: string[];
  /** False when it held more keys than it listed. */
  prefixKeysComplete?: boolean;
  /** The characters per block the keys were hashed with; a control plane with another size ignores them. */
  prefixBlockChars?: number;
  /** A ready replica's KV memory in tokens (slots' context and prompt cache), where the worker knows it: the router bounds its guess of the cache by it. */
  kvTokens?: number;
}

/** What a worker sends when it joins. */
export interface JoinRequest {
  token: string;
  name: string;
  /** Base URL of its OpenAI-compatible server. */
  endpoint: string;
  hardware: WorkerHardware;
}

/** What a worker gets back: its credentials (shown once) and how often to beat. */
export interface JoinAnswer {
  name: string;
  /** Presented as a Bearer token on every call to the control plane. */
  credential: string;
  /** Required as a Bearer token on every call to the worker's inference endpoint. */
  inferenceSecret: string;
  heartbeatIntervalMs: number;
}

/** A heartbeat's body. */
export interface HeartbeatRequest {
  load: WorkerLoadReport;
  hardware: WorkerHardware;
  replicas: ReplicaReport[];
}

/** One replica a worker must run: the model it serves under the replica's id. */
export interface ReplicaAssignment {
  replica: string;
  deployment: string;
  /** Path on the control plane to fetch the GGUF from (worker credential, Range supported). */
  file: string;
  /** File name for the worker's cache. */
  fileName: string;
  size: number;
  sha256: string;
  contextSize: number;
  slots: number;
  /** The deployment's spare slots; absent from a control plane older than them: none. */
  spareSlots?: number;
  device: DeploymentRecord['device'];
}

/** A heartbeat's answer: every replica the worker must run now (others it stops). */
export interface HeartbeatAnswer {
  assignments: ReplicaAssignment[];
}

/** The last change of a deployment's replica count, by the autoscaler or an operator (kept in memory). */
export interface ScaleEvent {
  at: number;
  from: number;
  to: number;
  /** In words: `demand 7 on 1 ready replica passes the target of 2 per replica`, `set by an operator`. */
  reason: string;
}

/**
 * A replica as the admin API shows it: `retiring` is one a scale-down took out of routing, which
 * goes once the requests still running on it end.
 */
export type PlacedReplica = Omit<PoolReplicaRecord, 'state'> & { state: PoolReplicaRecord['state'] | 'retiring' };

/** A deployment as the admin API shows it. */
export interface DeploymentView extends DeploymentRecord {
  placed: PlacedReplica[];
  /** Why replicas are missing, when some are. */
  refusal?: string;
  /** The last change of its count since this control plane started. */
  lastScale?: ScaleEvent;
  /** Requests waiting for a replica to become ready (scale from zero), through every control plane (as each last reported). */
  held?: number;
  /** Set while replicas that failed to load are not placed again: failures in a row, when it tries again, the last error. */
  loadBackoff?: { failures: number; retryAt: number; lastError: string };
}

/** A worker as the admin API shows it: no secrets. */
export interface WorkerView extends Omit<WorkerRecord, 'credentialHash' | 'inferenceSecret'> {
  /** Joined with a token and runs replicas the pool places on it. */
  kind: 'joined';
  /** `drained`: draining, and no replica is placed there any more (safe to stop). */
  state: 'ready' | 'draining' | 'drained' | 'unreachable';
  silentMs: number;
  replicas: string[];
}

/** One model a static worker serves: the name clients use and how that replica is faring. */
export interface StaticWorkerModel {
  model: string;
  /** The upstream's own name for it. */
  upstreamModel: string;
  breaker: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  inFlight: number;
  /** How long it asked not to get requests (429 with Retry-After), from now. */
  blockedForMs: number;
}

/**
 * A server the pool does not manage but sends requests to: an upstream engine from the
 * configuration (vLLM, SGLang, llama-server, a cloud). It serves the models configured for it,
 * takes no placements and cannot be drained; its health is its circuit breakers'.
 */
export interface StaticWorkerView {
  kind: 'static';
  /** The provider id from the configuration. */
  name: string;
  /** Its base URL (never its API key). */
  endpoint: string;
  /** `unreachable` when every model's breaker is open, `degraded` when some are or it asked to wait. */
  state: 'ready' | 'degraded' | 'unreachable';
  models: StaticWorkerModel[];
  load: { activeRequests: number };
}

/** What `GET /v1/pool/workers` lists: the joined workers, then the static ones. */
export type PoolWorkerView = WorkerView | StaticWorkerView;

/** Autoscale settings as the admin API takes them: any of them, merged over the deployment's own or the defaults. */
export type AutoscaleChange = Partial<AutoscaleSpec>;

/** Spare slots per model when none are asked for: `nimbus serve`'s models and new pool deployments alike (decision 0017). */
export const defaultSpareSlots = 1;

/** What `nimbus deploy` asks for. */
export interface DeployRequest {
  name: string;
  source: string;
  /** The count to start with; default 1, or the minimum when autoscaling. */
  replicas?: number;
  device: DeploymentRecord['device'];
  contextSize: number;
  slots: number;
  /** Sequences beyond `slots` for interactive requests while batch lines hold the slots; default `defaultSpareSlots`. */
  spareSlots?: number;
  routing: string;
  /** Autoscale between min and max instead of a fixed count. */
  autoscale?: AutoscaleChange;
}

/** What `nimbus deployments scale` asks for: a count, autoscale settings, or `autoscale: false` for a fixed count again. */
export interface ScaleRequest {
  /** The count now; with autoscaling on it must lie within the range, and the autoscaler moves it from there. */
  replicas?: number;
  autoscale?: AutoscaleChange | false;
}

/** A cached model file a worker may download. */
export interface ModelFile {
  path: string;
  size: number;
}

/**
 * The worker API of the joined-worker pool (`src/pool/joined/`): join tokens, joining,
 * heartbeats, model files, and the workers as the admin API shows them. After `leave` and
 * `drain` the caller reconciles.
 */
export interface WorkerControl {
  createJoinToken(expiresInMs?: number): Promise<{ id: string; token: string; expiresAt: number | null }>;
  join(request: JoinRequest): Promise<JoinAnswer>;
  /** The worker presenting this credential; undefined when none does. */
  authenticateWorker(credential: string): Promise<WorkerRecord | undefined>;
  heartbeat(worker: WorkerRecord, request: HeartbeatRequest): Promise<HeartbeatAnswer>;
  /** A worker shutting down on purpose: it is forgotten and its replicas are placed elsewhere now, not after missed beats. */
  leave(worker: WorkerRecord): Promise<void>;
  /** The GGUF of a deployment assigned to this worker; throws 404 otherwise. */
  modelFile(worker: WorkerRecord, deployment: string): Promise<ModelFile>;
  workers(): Promise<WorkerView[]>;
  drain(name: string, draining: boolean): Promise<WorkerView>;
  /**
   * Forgets a worker that stopped answering (a machine that died and will not come back): its
   * replicas are placed elsewhere. A worker that still beats is refused with a 409: it would
   * only join again; stop it, and it leaves by itself.
   */
  removeWorker(name: string): Promise<void>;
}

/** The deployments API: what to serve, how many replicas, and why they are where they are. */
export interface DeploymentControl {
  deploy(request: DeployRequest): Promise<DeploymentView>;
  /** Changes the count or the autoscale settings; throws 400 naming the field when they do not fit together. */
  scale(name: string, change: ScaleRequest): Promise<DeploymentView>;
  remove(name: string): Promise<boolean>;
  deployments(): Promise<DeploymentView[]>;
  /** Lines of text: which workers were considered for each replica and why each was taken or refused. */
  explain(name: string): Promise<string[]>;
}

/** The pool runtime as the routes see it: `src/pool/pool-runtime.ts`. */
export interface PoolControl extends WorkerControl, DeploymentControl {}
