/** Liveness, readiness and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import { requireOperator } from '../admin-access.js';
import type { ServerContext } from '../server-context.js';

export function registerHealthRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const models = context.catalog
      .list()
      .map((model) => ({ id: model.id, engine: model.engine, state: model.state, ...(model.error ? { error: model.error } : {}) }));
    if (context.lifecycle.draining) return reply.code(503).send({ status: 'shutting_down', reason: 'The server is shutting down.', models });
    const reason = context.catalog.notReadyReason();
    if (reason) return reply.code(503).send({ status: 'not_ready', reason, models });
    return { status: 'ready', models };
  });
  app.get('/metrics', async (request, reply) => {
    // Every tenant's requests, tokens and spend are in here: the operator's alone (another tenant's admin gets a 403).
    requireOperator(request.principal, "read /metrics (it counts every tenant's requests, tokens and cost)");
    reply.header('content-type', context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });
}
