/**
 * Routing for a set of named models, from config: each model gets its own router of its chosen
 * policy (a router keeps per-model state: a rotation, a ring), and every request gets routing keys
 * hashed with the configured block size. The upstream engine takes both; pool deployments choose
 * a policy per deployment through the same `createRouter`.
 */
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { ReplicaRouter, RoutingPolicy, RoutingRequest } from '../../core/replica-router.js';
import { createRouter } from './create-router.js';
import { routingKeys } from './routing-keys.js';

/**
 * What `modelRouting` reads: each model's policy and the block size. A model that names no policy
 * routes by `estimated-ttft` when every entry serving it is on a provider that caches prefixes
 * (`cachesPrefixes`), by `fallback` otherwise.
 */
export interface ModelRoutingSettings {
  models: ReadonlyArray<{ id: string; routing?: RoutingPolicy | undefined; cachesPrefixes?: boolean | undefined }>;
  prefixBlockChars: number;
  /** The policy of a model that names none. */
  fallback: RoutingPolicy;
}

/** A router per model and the routing keys of a request, for an engine's options. */
export function modelRouting(settings: ModelRoutingSettings): {
  routerFor: (model: string) => ReplicaRouter;
  routingKeys: (request: ChatCompletionRequest | (CompletionRequest & { prompt: string })) => Pick<RoutingRequest, 'prefixKeys' | 'sessionKey' | 'promptChars'>;
} {
  const policies = new Map<string, RoutingPolicy>();
  for (const model of settings.models) if (model.routing) policies.set(model.id, model.routing);
  for (const model of settings.models) {
    if (policies.has(model.id)) continue;
    const entries = settings.models.filter((entry) => entry.id === model.id);
    if (entries.every((entry) => entry.cachesPrefixes)) policies.set(model.id, 'estimated-ttft');
  }
  // Prefix keys cost a hash of the prompt: compute them only when some model routes on them.
  const wantsKeys = [...policies.values(), settings.fallback].some((policy) => policy !== 'round-robin' && policy !== 'least-outstanding-tokens');
  return {
    routerFor: (model) => createRouter(policies.get(model) ?? settings.fallback, { estimatedTtft: { prefixBlockChars: settings.prefixBlockChars } }),
    routingKeys: wantsKeys ? (request) => routingKeys(request, undefined, settings.prefixBlockChars) : () => ({}),
  };
}
