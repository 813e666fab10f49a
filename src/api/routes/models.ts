/**
 * GET /v1/models and GET /v1/models/{id}: the models this server serves, local and upstream
 * together, with where each is served (`nimbus.engine`, `nimbus.served_by`); aliases are listed
 * as cards of their own that name the model they stand for (`nimbus.alias_of`); the tenant's apps
 * as `app:NAME` (`nimbus.app`, its live version and models).
 */
import type { FastifyInstance } from 'fastify';
import type { ModelStatus } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ModelCard } from '../../core/openai/response-types.js';
import { isAppKey } from '../../apps/app-access.js';
import { appPrefix } from '../../apps/app-model.js';
import { appModels } from '../../core/app-config.js';
import { allows, type Allowance, type Principal } from '../../core/principal.js';
import type { ServerContext } from '../server-context.js';

function toCard(model: ModelStatus, alias?: string): ModelCard {
  return {
    id: alias ?? model.id,
    object: 'model',
    created: model.created,
    owned_by: 'nimbus',
    nimbus: {
      engine: model.engine,
      ...(model.servedBy ? { served_by: model.servedBy } : {}),
      ...(model.contextLength ? { context_length: model.contextLength } : {}),
      ...(alias ? { alias_of: model.id } : {}),
    },
  };
}

/** Every ready model, then every alias of a ready model; only those the caller's key may use. */
function cards(context: ServerContext, scope: Allowance): ModelCard[] {
  const ready = context.catalog.ready();
  const byId = new Map(ready.map((model) => [model.id, model]));
  const aliases = context.catalog.aliases().flatMap(({ alias, model }) => {
    const target = byId.get(model);
    return target ? [toCard(target, alias)] : [];
  });
  const all = [...ready.map((model) => toCard(model)), ...aliases];
  return scope === '*' ? all : all.filter((card) => allows(scope, card.id));
}

/** The tenant's apps the caller may call, as `app:NAME` cards; an app key sees these and no model. */
async function allCards(context: ServerContext, principal: Principal): Promise<ModelCard[]> {
  const models = isAppKey(principal) ? [] : cards(context, principal.scopes.models);
  const scope = principal.scopes.apps;
  const apps = (await context.apps.store.listApps(principal.tenantId)).filter((found) => scope === undefined || allows(scope, found.name));
  return [
    ...models,
    ...apps.map((found) => ({
      id: `${appPrefix}${found.name}`,
      object: 'model' as const,
      created: Math.floor(found.createdAt / 1000),
      owned_by: found.tenantId,
      nimbus: { engine: 'app', app: found.name, version: found.liveVersion, models: appModels(found.config) },
    })),
  ];
}

export function registerModelRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/v1/models', async (request) => ({ object: 'list', data: await allCards(context, request.principal) }));
  // Model ids may contain slashes (`Qwen/Qwen2.5-0.5B`), so the id is the rest of the path.
  app.get('/v1/models/*', async (request) => {
    const id = decodeURIComponent((request.params as { '*': string })['*']);
    const model = (await allCards(context, request.principal)).find((candidate) => candidate.id === id);
    if (!model)
      throw new NimbusError('model_not_found', `The model '${id}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
    return model;
  });
}
