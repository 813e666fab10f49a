/**
 * Prefix-cache-aware routing with a load bound: consistent hashing with bounded loads (CHWBL),
 * as KubeAI routes. Requests whose prompts start alike hash to the same point on the ring and
 * so reach the replica that already holds that prefix in its KV cache; a replica loaded past
 * `loadFactor` times the mean is skipped for the next one clockwise, so one hot prefix (a shared
 * system prompt) cannot swamp a replica.
 */
import type { ReplicaRouter, RoutingCandidate, RoutingRequest } from '../../core/replica-router.js';
import { RingCache, inOrderOf } from './hash-ring.js';
import { LeastOutstandingTokensRouter } from './least-outstanding-tokens-router.js';

/** Options of `PrefixCacheRouter`; merged over `defaultPrefixCacheOptions`. */
export interface PrefixCacheOptions {
  /** Leading prompt blocks hashed into the key: 1 follows the first block's owner, more splits on later divergence. */
  prefixBlocks: number;
  /** How far above the mean load a replica may be and still take the request (KubeAI: 1.25). */
  loadFactor: number;
}

/** KubeAI's bound of 125% of the mean; two leading blocks (1,024 tokens with 512-token blocks). */
export const defaultPrefixCacheOptions: PrefixCacheOptions = { prefixBlocks: 2, loadFactor: 1.25 };

/** CHWBL over the request's leading prefix keys; least outstanding tokens when it has none. */
export class PrefixCacheRouter implements ReplicaRouter {
  private readonly options: PrefixCacheOptions;
  private readonly rings = new RingCache();
  private readonly fallback = new LeastOutstandingTokensRouter();

  constructor(options: Partial<PrefixCacheOptions> = {}) {
    this.options = { ...defaultPrefixCacheOptions, ...options } satisfies PrefixCacheOptions;
    if (!(this.options.loadFactor >= 1)) throw new Error(`loadFactor must be at least 1 (1.25 is KubeAI's default), got ${this.options.loadFactor}`);
    if (!(this.options.prefixBlocks >= 1)) throw new Error(`prefixBlocks must be at least 1, got ${this.options.prefixBlocks}`);
  }

  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[] {
    if (candidates.length <= 1) return [...candidates];
    const keys = request.prefixKeys ?? [];
    if (keys.length === 0) return this.fallback.order(request, candidates);
    const ring = this.rings.for(candidates.map((candidate) => candidate.id));
    const walked = inOrderOf(ring.walk(`${request.model}\u0000${keys.slice(0, this.options.prefixBlocks).join(',')}`), candidates);
    const totalWeight = candidates.reduce((total, candidate) => total + weightOf(candidate), 0);
    const totalLoad = candidates.reduce((total, candidate) => total + candidate.inFlight, 0);
    // Within the bound: this replica's load with the new request, per unit of its speed, at most loadFactor x the pool's mean with it.
    const bound = (this.options.loadFactor * (totalLoad + 1)) / totalWeight;
    const within = walked.find((candidate) => (candidate.inFlight + 1) / weightOf(candidate) <= bound);
    const first = within ?? [...walked].sort((a, b) => normalizedLoad(a) - normalizedLoad(b))[0]!;
    return [first, ...walked.filter((candidate) => candidate !== first)];
  }
}

function weightOf(candidate: RoutingCandidate): number {
  return candidate.weight !== undefined && candidate.weight > 0 ? candidate.weight : 1;
}

function normalizedLoad(candidate: RoutingCandidate): number {
  return candidate.inFlight / weightOf(candidate);
}
