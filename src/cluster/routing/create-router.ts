/**
 * The routing policies a deployment may choose, by name, behind the one `ReplicaRouter` contract
 * (src/core/replica-router.ts) that the upstream engine, the pool engine and the replay
 * simulator all call.
 */
import { RoundRobinRouter, routingPolicies, type ReplicaRouter, type RoutingPolicy } from '../../core/replica-router.js';
import { EstimatedTtftRouter, type EstimatedTtftOptions } from './estimated-ttft-router.js';
import { LeastOutstandingTokensRouter } from './least-outstanding-tokens-router.js';
import { PrefixCacheRouter, type PrefixCacheOptions } from './prefix-cache-router.js';
import { SessionAffinityRouter } from './session-affinity-router.js';

export { routingPolicies, type RoutingPolicy };

/** The default for pool deployments: estimated-ttft wins the server-like replay (docs/decisions/0012-estimated-ttft-routing.md). */
export const defaultRoutingPolicy: RoutingPolicy = 'estimated-ttft';

/** A fresh router for one deployment; each keeps its own rotation and ring state. */
export function createRouter(
  policy: RoutingPolicy,
  options: { prefixCache?: Partial<PrefixCacheOptions>; estimatedTtft?: Partial<EstimatedTtftOptions> } = {},
): ReplicaRouter {
  switch (policy) {
    case 'round-robin':
      return new RoundRobinRouter();
    case 'least-outstanding-tokens':
      return new LeastOutstandingTokensRouter();
    case 'prefix-cache':
      return new PrefixCacheRouter(options.prefixCache);
    case 'session-affinity':
      return new SessionAffinityRouter();
    case 'estimated-ttft':
      return new EstimatedTtftRouter(options.estimatedTtft);
    default:
      throw new Error(`unknown routing policy ${JSON.stringify(policy)}; use one of ${routingPolicies.join(', ')}`);
  }
}

/** Narrows a user-supplied name (a flag, a config value) to a policy; throws listing the valid ones. */
export function parseRoutingPolicy(name: string): RoutingPolicy {
  if ((routingPolicies as readonly string[]).includes(name)) return name as RoutingPolicy;
  throw new Error(`unknown routing policy ${JSON.stringify(name)}; use one of ${routingPolicies.join(', ')}`);
}
