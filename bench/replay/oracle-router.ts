/**
 * The oracle: the replica with the lowest estimated time to first token, known exactly from the
 * simulated replicas themselves (what each caches, the prefill queued on each, its decode batch),
 * which no deployable router can see. It bounds what a cost-aware router can reach, and defines
 * load: the arrival scale at which the oracle keeps the pool's prefill busy a given share of time.
 */
import type { ReplicaRouter, RoutingCandidate, RoutingRequest } from '../../src/core/replica-router.js';
import { blockTokens, type TraceRequest } from './load-trace.js';
import type { ServerReplica } from './server-replica.js';

/** Estimated ms to `request`'s first token on `replica`: the prefill queued there and its own uncached part, in chunks that each carry a decode step. */
export function exactTtftMs(replica: ServerReplica, request: TraceRequest, chunkTokens: number): number {
  const hit = request.blocks ? Math.min(replica.kv.peek(request.blocks), Math.floor((request.inputTokens - 1) / blockTokens)) : 0;
  const tokens = replica.queuedPrefill + request.inputTokens - hit * blockTokens;
  const chunks = Math.ceil(tokens / chunkTokens);
  return (tokens / replica.profile.prefillTokensPerSecond) * 1000 + chunks * replica.decodeStepMs(replica.decoding);
}

/** Orders the simulated replicas by `exactTtftMs`; requests are found by their id (the trace index). */
export class OracleRouter implements ReplicaRouter {
  private turn = 0;

  constructor(
    private readonly replicas: readonly ServerReplica[],
    private readonly trace: readonly TraceRequest[],
    private readonly chunkTokens = 512,
  ) {}

  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[] {
    const traced = this.trace[Number(request.requestId)]!;
    const offset = this.turn++ % Math.max(1, candidates.length);
    const scored = candidates.map((candidate, index) => {
      const replica = this.replicas.find((entry) => entry.id === candidate.id)!;
      // Equal estimates (an idle pool) rotate, so they share the traffic.
      return { candidate, ms: exactTtftMs(replica, traced, this.chunkTokens), rank: (index - offset + candidates.length) % candidates.length };
    });
    scored.sort((a, b) => a.ms - b.ms || a.rank - b.rank);
    return scored.map((entry) => entry.candidate);
  }
}
