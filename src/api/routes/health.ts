/**
 * Liveness, readiness and Prometheus metrics. Readiness is what a load balancer routes by: a
 * control plane is ready when what it needs to answer any request answers (its store, and Redis
 * where limits are shared) and it is not draining, whatever models it holds. A control plane with
 * no model loaded still serves the pool, the admin API and the console, and another one may hold
 * the models; the body says how the models fare (`models_ready`, `reason`) for people and tests.
 */
import type { FastifyInstance } from 'fastify';
import { requireOperator } from '../admin-access.js';
import type { ServerContext } from '../server-context.js';

/** How long one readiness check may take before it counts as not answering. */
const checkTimeoutMs = 2_000;

/** Runs a check within `checkTimeoutMs`: undefined when it answered, else why not. */
async function failureOf(check: () => Promise<void>): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${checkTimeoutMs} ms`), checkTimeoutMs);
  });
  try {
    return await Promise.race([check().then(() => undefined), timeout]);
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const models = context.catalog
      .list()
      .map((model) => ({ id: model.id, engine: model.engine, state: model.state, ...(model.error ? { error: model.error } : {}) }));
    const modelsReason = context.catalog.notReadyReason();
    const modelFields = { models, models_ready: modelsReason === undefined, ...(modelsReason ? { models_reason: modelsReason } : {}) };
    if (context.lifecycle.draining) return reply.code(503).send({ status: 'shutting_down', reason: 'The server is shutting down.', ...modelFields });
    const checks: Record<string, string> = {};
    const failures: string[] = [];
    await Promise.all(
      (context.readiness ?? []).map(async ({ name, check }) => {
        const failure = await failureOf(check);
        checks[name] = failure === undefined ? 'ok' : failure;
        if (failure !== undefined) failures.push(`${name}: ${failure}`);
      }),
    );
    if (failures.length > 0) return reply.code(503).send({ status: 'not_ready', reason: failures.join('; '), checks, ...modelFields });
    return { status: 'ready', checks, ...modelFields };
  });
  app.get('/metrics', async (request, reply) => {
    // Every tenant's requests, tokens and spend are in here: the operator's alone (another tenant's admin gets a 403).
    requireOperator(request.principal, "read /metrics (it counts every tenant's requests, tokens and cost)");
    reply.header('content-type', context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });
}
