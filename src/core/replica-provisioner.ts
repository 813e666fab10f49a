/**
 * Where the replicas of pool deployments come from. The pool runtime's front (`src/pool/`)
 * decides how many replicas each deployment has (operators, the autoscaler, load backoff, scale
 * down without cutting requests) and serves requests over them; a provisioner decides where they
 * run, starts and stops them, and says how each one fares. The model is vLLM production-stack's
 * `ServiceDiscovery` (one abstract class, a static and a Kubernetes backend, picked in one
 * factory): here one contract, backends picked in `main.ts`. The first backend is the pool of
 * joined workers (`src/pool/joined/`): machines that joined with a token, beat, and download the
 * model from the control plane. `docs/extending.md` ("Add a placement backend") says how to add one.
 */
import type { Fence } from './pool-lease.js';
import type { DeploymentRecord, PoolReplicaState } from './pool-store.js';

/** What a provisioner needs of a deployment to run one replica of it (`createdAt` tells it from a later one of the same name). */
export type ProvisionSpec = Pick<DeploymentRecord, 'name' | 'source' | 'device' | 'contextSize' | 'slots' | 'spareSlots' | 'createdAt'>;

/** How the front reaches a replica: an OpenAI-compatible server and the bearer secret it requires. */
export interface ReplicaEndpoint {
  /** Base URL without `/v1` (`http://10.0.0.7:8090`). */
  url: string;
  secret: string;
}

/** One replica as its provisioner sees it now. */
export interface ProvisionedReplica {
  /** Stable while the replica lives; a replica placed again gets a new id. */
  id: string;
  deployment: string;
  /** Where it runs, for people, routing ids and the ledger: the worker's name. */
  host: string;
  /** `assigned` while starting, `ready` once loaded, `failed` when it could not start (`error` says why). */
  state: PoolReplicaState;
  error: string | null;
  /**
   * Its host stopped answering or went away: it serves no more. The front removes it, and places
   * another if the deployment still wants it.
   */
  lost: boolean;
  /**
   * Its host is being emptied (drained): the front places a replacement and removes this one once
   * the deployment has its count serving elsewhere. Until then it keeps serving.
   */
  moving: boolean;
  /** Requests queued or running on it as its host last reported (a share of the host's, where the host runs several). */
  reportedLoad: number;
  createdAt: number;
  updatedAt: number;
  /** Where to send its requests; absent when its host is gone. */
  endpoint?: ReplicaEndpoint;
}

/** What one `place` did: the replicas placed, and in words why fewer than asked. */
export interface PlacementOutcome {
  placed: ProvisionedReplica[];
  /** Set when fewer were placed than asked: why, and what to change (`add a worker with 2 GiB free`). */
  refusal?: string;
}

/** Something changed that the front acts on. */
export type ProvisionerChange =
  /** Replicas or hosts changed (one loaded or failed, a host came, went or fell silent): reconcile soon. */
  | { kind: 'changed' }
  /** A replica of `deployment` loaded: its load backoff ends, and requests held for it may go on. */
  | { kind: 'ready'; deployment: string }
  /** A host beat: requests held may find a replica serving now. */
  | { kind: 'beat' }
  /** A replica reported the prefix keys its caches hold (most recent first; `complete` false when bounded): its router's index takes them. */
  | { kind: 'cached'; deployment: string; host: string; replica: string; prefixKeys: string[]; complete: boolean; prefixBlockChars: number }
  /** A ready replica told its KV memory in tokens (its router's `RoutingCandidate.kvTokens`). */
  | { kind: 'kv-size'; deployment: string; host: string; replica: string; kvTokens: number }
  /** A host stopped answering (`lost`) or answers again (`back`): for the log. */
  | { kind: 'host'; host: string; state: 'lost' | 'back'; detail: string };

/**
 * A placement backend. Every method that changes placement (`place`, `remove`) persists what it
 * did before it resolves, so that another control plane on the same store sees it. Nothing here
 * throws for lack of room: that is a refusal in words. Where several control planes share the
 * store, the leader passes its `fence` (core/pool-lease.ts): the backend must make the write
 * only while that fence holds, and throw `FencedOut` otherwise (the joined pool's store checks it
 * in the write's transaction).
 */
export interface ReplicaProvisioner {
  /** Names the backend in explanations (`joined workers`). */
  readonly kind: string;
  /** Loads what it knows (hosts get a heartbeat of grace after a restart). Called once before anything else. */
  start(): Promise<void>;
  /** Frees what it holds; replicas keep running on their hosts. */
  close(): Promise<void>;
  /** Throws an Error saying why it could not run `spec` (a model that does not resolve, a file it cannot size). */
  prepare(spec: ProvisionSpec): Promise<void>;
  /**
   * Places up to `count` new replicas of `spec` (a host runs at most one replica of a deployment,
   * since it serves it under the deployment's name), spreading them from the hosts that already
   * run one.
   */
  place(spec: ProvisionSpec, count: number, fence?: Fence): Promise<PlacementOutcome>;
  /** Stops a replica and forgets it; false when it did not exist. */
  remove(id: string, fence?: Fence): Promise<boolean>;
  /** Every replica of every deployment, with its state and its host's verdict as of now. */
  observe(): Promise<ProvisionedReplica[]>;
  /** Whether a replica takes requests now: loaded, and its host answering. Synchronous and cheap: asked on every request. */
  serves(id: string): boolean;
  /**
   * Whether a replica's host has been silent long enough (two heartbeats) that requests waiting on
   * it should move: a frozen or cut-off machine, not yet declared lost. Synchronous and cheap.
   */
  stalled(id: string): boolean;
  /** How many replicas of `spec` beyond `wanted` would fit now (the autoscaler asks for no more than that). */
  room(spec: ProvisionSpec, wanted: number): Promise<number>;
  /** Lines for `nimbus deployments explain`: where its last placement of `spec` went and why, or where it would go now. */
  explain(spec: ProvisionSpec, wanted: number): Promise<string[]>;
  /** Calls `listener` on every change the front acts on; returns the function that stops it. */
  watch(listener: (change: ProvisionerChange) => void): () => void;
}
