/**
 * The pool section of the Store contract: join tokens, workers (hardware, credentials, last
 * heartbeat), deployments (what to serve and how many replicas) and replicas (which worker runs
 * which). Secrets that authenticate a caller are stored as sha256 only; the one secret the
 * control plane must present itself (to a worker's inference endpoint) is stored as it is.
 */
import type { DemandStore } from './pool-demand.js';
import type { Fence, LeaseStore } from './pool-lease.js';

/** A token that lets a machine join the pool; shown once, stored as its hash. */
export interface JoinTokenRecord {
  id: string;
  /** sha256 (hex) of the token. */
  hash: string;
  createdAt: number;
  /** Unix ms after which it no longer admits workers; null: never. */
  expiresAt: number | null;
}

/** One GPU as a worker reports it. */
export interface GpuReport {
  index: number;
  name: string;
  totalBytes: number;
  freeBytes: number;
  /** `cuda`, `vulkan`, `metal`. */
  backend: string;
  /** Driver version where nvidia-smi says it. */
  driver?: string;
  /** Percent of the last sample period a kernel ran (nvidia-smi's utilization.gpu); absent where unknown. */
  utilizationPercent?: number;
}

/** What a worker has, as it reports on join and with each heartbeat. */
export interface WorkerHardware {
  cpuModel: string;
  cores: number;
  ramTotalBytes: number;
  ramFreeBytes: number;
  gpus: GpuReport[];
  /** Share of all cores busy (0 to 1) since the worker's previous report; absent on the first, and from older workers. */
  cpuUtilization?: number;
}

/** Load a worker reports with each heartbeat (the fields of cluster's `WorkerLoad`). */
export interface WorkerLoadReport {
  activeSequences: number;
  queueDepth: number;
  tokensPerSecond: number;
  memoryInUseBytes: number;
}

/** A worker that joined. */
export interface WorkerRecord {
  name: string;
  /** sha256 of the credential the worker presents on every call to the control plane. */
  credentialHash: string;
  /** What the control plane presents on calls to the worker's inference endpoint. */
  inferenceSecret: string;
  /** Base URL of the worker's OpenAI-compatible server (`http://10.0.0.7:8090`). */
  endpoint: string;
  hardware: WorkerHardware;
  load: WorkerLoadReport;
  /** Takes no new replicas; its replicas move elsewhere (`nimbus workers drain`). */
  draining: boolean;
  joinedAt: number;
  lastHeartbeatAt: number;
}

/**
 * How a deployment follows demand (`nimbus deploy --min N --max N`): its replica count moves
 * between `minReplicas` and `maxReplicas` so that each replica has about
 * `targetQueuePerReplica` requests queued or running (src/cluster/decide-scale.ts).
 */
export interface AutoscaleSpec {
  /** Never fewer replicas; 0 lets an idle deployment scale to zero (its next request waits for a replica). */
  minReplicas: number;
  /** Never more replicas. */
  maxReplicas: number;
  /** Requests queued or running per replica above which one is added (default 2). */
  targetQueuePerReplica: number;
  /** How long demand must stay below target before one replica goes (default 60 s): a short lull does not cost a reload. */
  scaleDownDelayMs: number;
  /** How long a request waits for a replica while none is ready before it gets a 503 (default 120 s). */
  scaleFromZeroTimeoutMs: number;
}

/** A model served by the pool under one name. */
export interface DeploymentRecord {
  name: string;
  /** Model source: a GGUF path on the control plane or `hf:owner/repo/file.gguf`. */
  source: string;
  /** Replicas wanted now: set by the operator, or by the autoscaler within `autoscale`'s range. */
  replicas: number;
  device: 'auto' | 'gpu' | 'cpu';
  contextSize: number;
  slots: number;
  /**
   * Sequences beyond `slots` that only interactive requests take, while batch lines hold the
   * ordinary slots (decision 0017); each costs one slot's KV cache. 0 for deployments made before
   * pools carried spares.
   */
  spareSlots: number;
  /** Routing policy name (`prefix-cache`, `round-robin`, ...). */
  routing: string;
  /** Null: a fixed count (`replicas`); set: the count follows demand within its range. */
  autoscale: AutoscaleSpec | null;
  createdAt: number;
  updatedAt: number;
}

/** `assigned` until its worker reports it loaded (`ready`), or `failed` to load it. */
export type PoolReplicaState = 'assigned' | 'ready' | 'failed';

/** One replica of a deployment on one worker. */
export interface PoolReplicaRecord {
  id: string;
  deployment: string;
  worker: string;
  state: PoolReplicaState;
  /** Why it failed, in words; null otherwise. */
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * Persistence of the pool. Placement writes (`putReplica`, `deleteReplica`, `putDeployment`)
 * take an optional `Fence`: given one, the write happens only while the pool lease is at its
 * generation, checked in the same transaction, else it throws `FencedOut` and writes nothing
 * (core/pool-lease.ts). Writes a worker or an operator causes (heartbeats, joins, a deploy, a
 * scale) carry none.
 */
export interface PoolStore extends LeaseStore, DemandStore {
  createJoinToken(token: JoinTokenRecord): Promise<void>;
  findJoinToken(hash: string): Promise<JoinTokenRecord | undefined>;
  /** Inserts or replaces a worker (a machine that joins again under its name gets new credentials). */
  putWorker(worker: WorkerRecord): Promise<void>;
  getWorker(name: string): Promise<WorkerRecord | undefined>;
  findWorkerByCredential(hash: string): Promise<WorkerRecord | undefined>;
  listWorkers(): Promise<WorkerRecord[]>;
  /** Records a heartbeat; false for an unknown worker. */
  recordHeartbeat(name: string, at: number, load: WorkerLoadReport, hardware: WorkerHardware): Promise<boolean>;
  setDraining(name: string, draining: boolean): Promise<boolean>;
  /** Forgets a worker and its replicas. */
  deleteWorker(name: string): Promise<boolean>;
  /** Inserts or replaces a deployment. */
  putDeployment(deployment: DeploymentRecord, fence?: Fence): Promise<void>;
  getDeployment(name: string): Promise<DeploymentRecord | undefined>;
  listDeployments(): Promise<DeploymentRecord[]>;
  /** Removes a deployment and its replicas. */
  deleteDeployment(name: string): Promise<boolean>;
  /** Inserts or replaces a replica. */
  putReplica(replica: PoolReplicaRecord, fence?: Fence): Promise<void>;
  listReplicas(): Promise<PoolReplicaRecord[]>;
  deleteReplica(id: string, fence?: Fence): Promise<boolean>;
}
