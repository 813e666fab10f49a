/**
 * One replica of a pool deployment as the pool engine routes to it: the engine that serves it
 * (a worker's, reached over the network, or one in this process) and the live figures routers read.
 */
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
}

/** A replica and the work this server has sent it. */
export class PoolReplica implements RoutingCandidate {
  readonly id: string;
  readonly engine: Engine;
  readonly worker: string;
  readonly weight: number;
  inFlight = 0;
  outstandingTokens = 0;
  private readonly healthCheck: () => boolean;

  constructor(options: PoolReplicaOptions) {
    this.id = options.id;
    this.worker = options.worker ?? options.id;
    this.engine = options.engine;
    this.weight = options.weight ?? 1;
    this.healthCheck = options.healthy ?? (() => true);
  }

  get healthy(): boolean {
    return this.healthCheck();
  }
}
