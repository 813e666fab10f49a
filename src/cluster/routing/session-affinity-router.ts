/**
 * Session affinity: every request of one session (the `user` field or a session header) goes to
 * the same replica, found on a consistent-hash ring so that a pool change moves few sessions.
 * Requests without a session fall back to round-robin.
 */
import { RoundRobinRouter, type ReplicaRouter, type RoutingCandidate, type RoutingRequest } from '../../core/replica-router.js';
import { RingCache, inOrderOf } from './hash-ring.js';

/** The session's replica first, then the rest clockwise on the ring (the order to fail over in). */
export class SessionAffinityRouter implements ReplicaRouter {
  private readonly rings = new RingCache();
  private readonly fallback = new RoundRobinRouter();

  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[] {
    if (!request.sessionKey || candidates.length <= 1) return this.fallback.order(request, candidates);
    const ring = this.rings.for(candidates.map((candidate) => candidate.id));
    return inOrderOf(ring.walk(`${request.model}\u0000${request.sessionKey}`), candidates);
  }
}
