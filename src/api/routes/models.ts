/** GET /v1/models and GET /v1/models/{id}: the models this server serves, with where and how. */
import type { FastifyInstance } from 'fastify';
import type { ModelStatus } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ModelCard } from '../../core/openai/response-types.js';
import type { ServerContext } from '../server-context.js';

function toCard(model: ModelStatus): ModelCard {
  return {
    id: model.id,
    object: 'model',
    created: model.created,
    owned_by: 'nimbus',
    nimbus: {
      engine: model.engine,
      ...(model.servedBy ? { served_by: model.servedBy } : {}),
      ...(model.contextLength ? { context_length: model.contextLength } : {}),
    },
  };
}

export function registerModelRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/v1/models', async () => ({ object: 'list', data: context.catalog.ready().map(toCard) }));
  // Model ids may contain slashes (`Qwen/Qwen2.5-0.5B`), so the id is the rest of the path.
  app.get('/v1/models/*', async (request) => {
    const id = decodeURIComponent((request.params as { '*': string })['*']);
    const model = context.catalog.ready().find((candidate) => candidate.id === id);
    if (!model)
      throw new NimbusError('model_not_found', `The model '${id}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
    return toCard(model);
  });
}
