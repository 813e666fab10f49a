/**
 * Least outstanding tokens: the replica with the least work queued per unit of speed goes first.
 * Tokens, not requests, because one 30k-token prompt is worth a hundred short chats.
 */
import type { ReplicaRouter, RoutingCandidate, RoutingRequest } from '../../core/replica-router.js';

/** Orders replicas by outstanding tokens divided by weight (in-flight requests where tokens are unknown); ties rotate. */
export class LeastOutstandingTokensRouter implements ReplicaRouter {
  private turn = 0;

  order<T extends RoutingCandidate>(_request: RoutingRequest, candidates: readonly T[]): T[] {
    if (candidates.length <= 1) return [...candidates];
    const offset = this.turn++ % candidates.length;
    const rotated = [...candidates.slice(offset), ...candidates.slice(0, offset)];
    // Array.prototype.sort is stable, so equal loads keep the rotated order and share the traffic.
    return rotated.sort((a, b) => score(a) - score(b));
  }
}

function score(candidate: RoutingCandidate): number {
  const weight = candidate.weight !== undefined && candidate.weight > 0 ? candidate.weight : 1;
  return (candidate.outstandingTokens ?? candidate.inFlight) / weight;
}
