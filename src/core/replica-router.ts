/**
 * Which replica of a model serves a request. Engines that front several replicas (upstreams now,
 * pool workers later) ask a router for an order and try replicas in it, skipping unhealthy ones,
 * so load- and cache-aware policies plug in here without touching the engines.
 */

/** Policy names, as `nimbus deploy --routing` and config spell them; the routers live in src/cluster/routing. */
export const routingPolicies = ['round-robin', 'least-outstanding-tokens', 'prefix-cache', 'session-affinity', 'estimated-ttft'] as const;

/** One routing policy name. */
export type RoutingPolicy = (typeof routingPolicies)[number];

/** A replica as a router sees it: a name and live figures a smarter policy may read. */
export interface RoutingCandidate {
  /** Stable name of the replica (an upstream provider id, a worker name). */
  readonly id: string;
  /** Requests this replica is serving now, from this server. */
  readonly inFlight: number;
  /** Prompt tokens not yet prefilled plus output tokens still to generate, where known (least-outstanding-tokens). */
  readonly outstandingTokens?: number;
  /** Relative speed (a GPU replica 20, a CPU one 1); load-aware policies divide load by it. Default 1. */
  readonly weight?: number;
  /**
   * Tokens of KV memory the replica has for running requests and its prefix cache together, where
   * known. estimated-ttft bounds what it assumes the replica caches by it, less what the requests it
   * sent there hold (decision 0026); unknown, it learns a bound from the cached tokens answers report.
   */
  readonly kvTokens?: number;
}

/** What a router may know about the request it places. */
export interface RoutingRequest {
  /** The model name, after aliases. */
  model: string;
  /** The request id, for policies that log or hash it. */
  requestId: string;
  /** Hashes of the prompt's leading fixed-size token blocks, in order (prefix-cache-aware routing). */
  prefixKeys?: readonly string[];
  /** The caller's session: the `user` field or a session header (session affinity). */
  sessionKey?: string;
  /** Prompt tokens plus max output tokens, where known: what this request adds to a replica's outstanding tokens. */
  tokens?: number;
  /** Characters of the prompt, where known: estimated-ttft turns them into tokens with a ratio it learns per model. */
  promptChars?: number;
  /**
   * `batch` for a Batch API line (default `interactive`). The pool engine orders a batch request's
   * candidates by the requests they run (idle replicas first) after the policy's order, and tells
   * the router nothing of what became of it: batch work yields to interactive requests on the
   * worker, so it must not make a replica look slower or busier to them.
   */
  priority?: 'interactive' | 'batch';
}

/**
 * What became of a request a router placed, as the engine that ran it saw: `sent` to a replica
 * (each try), its `first-token`, and `ended` (answered, failed or cancelled) with the usage the
 * replica reported; or, with no request, what a replica reported it `cached` (its heartbeat).
 * Policies that learn (estimated-ttft: speeds, what each replica caches, the characters per token)
 * read these; the rest ignore them.
 */
export interface RoutingOutcome {
  kind: 'sent' | 'first-token' | 'ended' | 'cached';
  model: string;
  /** The request (empty for `cached`). */
  requestId: string;
  /** The replica's `RoutingCandidate.id`. */
  replica: string;
  /** `ended` after an answer: prompt tokens as the replica counted them. */
  promptTokens?: number;
  /** `ended` after an answer: how many of them it served from its prefix cache. */
  cachedTokens?: number;
  /** `cached`: prefix keys the replica holds now, most recently used first, at most `complete` ones when not all. */
  prefixKeys?: readonly string[];
  /** `cached`: false when the replica holds more than it listed (the report is bounded). */
  complete?: boolean;
}

/** A routing policy: orders the candidates for one request; the engine tries them in that order. */
export interface ReplicaRouter {
  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[];
  /** Optional: told what became of each placed request (engines call it where defined). */
  observe?(outcome: RoutingOutcome): void;
}

/** Round-robin per model: each request starts one replica further along the list. */
export class RoundRobinRouter implements ReplicaRouter {
  private readonly next = new Map<string, number>();

  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[] {
    if (candidates.length <= 1) return [...candidates];
    const start = (this.next.get(request.model) ?? 0) % candidates.length;
    this.next.set(request.model, start + 1);
    return [...candidates.slice(start), ...candidates.slice(0, start)];
  }
}
