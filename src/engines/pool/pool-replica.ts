/**
 * One replica of a pool deployment as the pool engine routes to it: the engine that serves it
 * (a worker's, reached over the network, or one in this process), the live figures routers
 * read, and the tries running on it now, which the pool engine abandons when the replica is lost.
 */
import type { Cancellation } from '../../core/cancellation.js';
import type { Engine } from '../../core/engine.js';
import type { RoutingCandidate } from '../../core/replica-router.js';

/** What the pool runtime tells the engine about a replica. */
export interface PoolReplicaOptions {
  /** Stable name: the worker's name, or `worker/replica` where a worker runs several. */
  id: string;
  /** Serves this replica's model. */
  engine: Engine;
  /** The worker it runs on, for the ledger; defaults to `id`. */
  worker?: string;
  /** Relative speed for load-aware policies (a GPU replica 100, a CPU one 1). Default 1. */
  weight?: number;
  /** False while its worker misses heartbeats: the router does not see it. Default always true. */
  healthy?: () => boolean;
  /**
   * True once its worker has been silent long enough (two heartbeats) that requests waiting on
   * it should move: a frozen or cut-off machine. New requests avoid it, and a try on it with no
   * event for as long is abandoned and retried (or continued) elsewhere. Default never.
   */
  stalled?: () => boolean;
}

/** One try running on a replica: its own cancellation (the client's, or the pool engine's when the replica is lost). */
export interface ReplicaTry {
  cancel: Cancellation;
  /** Monotonic ms of its start or its last event. */
  lastEventAt: number;
}

/** A replica and the work this server has sent it. */
export class PoolReplica implements RoutingCandidate {
  readonly id: string;
  readonly engine: Engine;
  readonly worker: string;
  readonly weight: number;
  inFlight = 0;
  outstandingTokens = 0;
  /** KV memory in tokens, as its worker's heartbeat tells it (undefined until then, or where the worker does not know). */
  kvTokens: number | undefined = undefined;
  readonly tries = new Set<ReplicaTry>();
  private readonly healthCheck: () => boolean;
  private readonly stallCheck: () => boolean;

  constructor(options: PoolReplicaOptions) {
    this.id = options.id;
    this.worker = options.worker ?? options.id;
    this.engine = options.engine;
    this.weight = options.weight ?? 1;
    this.healthCheck = options.healthy ?? (() => true);
    this.stallCheck = options.stalled ?? (() => false);
  }

  /** Loaded, and its worker not lost: it may serve. */
  get serving(): boolean {
    return this.healthCheck();
  }

  /** Serving and not stalled: new requests go here first. */
  get healthy(): boolean {
    return this.healthCheck() && !this.stallCheck();
  }

  get stalled(): boolean {
    return this.stallCheck();
  }

  /** Cancels its tries (`only` picks some) with `error`: the pool engine retries or continues them elsewhere. Returns how many. */
  abandon(error: unknown, only: (entry: ReplicaTry) => boolean = () => true): number {
    let count = 0;
    for (const entry of [...this.tries]) {
      if (!only(entry) || entry.cancel.aborted) continue;
      entry.cancel.abort(error);
      count += 1;
    }
    return count;
  }
}
