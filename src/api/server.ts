/** Builds the HTTP server: Fastify with the OpenAI-compatible routes, health and metrics. */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { AppDirectory } from '../apps/app-directory.js';
import { systemClock } from '../core/clock.js';
import type { Engine } from '../core/engine.js';
import { NimbusError } from '../core/errors.js';
import { LiveEventBus } from '../core/live-events.js';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { PoolControl } from '../core/pool-control.js';
import type { Store } from '../core/store.js';
import { Accounting } from '../tenancy/accounting/accounting.js';
import { openGate, type UsageGate } from '../tenancy/usage-gate.js';
import { AccessLog } from './access-log.js';
import { installErrorHandling } from './error-handler.js';
import { Lifecycle } from './lifecycle.js';
import { Metrics } from './metrics.js';
import { installPrincipal, type PrincipalResolver } from './principal.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInferenceRoutes } from './routes/inference.js';
import { registerKeyRoutes } from './routes/keys.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerLiveRoutes } from './routes/live.js';
import { registerMeLimitsRoutes } from './routes/me-limits.js';
import { registerModelFileRoutes } from './routes/model-files.js';
import { registerModelRoutes } from './routes/models.js';
import { registerPoolRoutes } from './routes/pool.js';
import { registerRequestRoutes } from './routes/requests.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerUsageRoutes } from './routes/usage.js';
import type { ModelFileServices, ReadinessCheck, ServerContext } from './server-context.js';

export interface ServerOptions {
  catalog: ModelCatalog;
  engines: readonly Engine[];
  store: Store;
  bodyLimit: number;
  logLevel: string;
  /** Who is calling; local mode (everything allowed) when absent. */
  resolvePrincipal?: PrincipalResolver;
  /** Limits, budgets and prices around every inference request; none when absent. */
  gate?: UsageGate;
  /** The pool runtime: worker and deployment routes are added when present. */
  pool?: PoolControl;
  /** The model cache and its pulls: `/v1/model-files` is added when present (the control plane). */
  modelFiles?: ModelFileServices;
  /** Where the built console lives (console/dist); not served when absent. */
  consoleDirectory?: string;
  /** A pool worker's server: usage carries the compute report for the control plane (server-context.ts). */
  reportCompute?: boolean;
  /** What `/readyz` checks beyond draining (server-context.ts). */
  readiness?: readonly ReadinessCheck[];
}

/** A built server and the context its routes share. */
export interface NimbusServer {
  app: FastifyInstance;
  context: ServerContext;
}

export function buildServer(options: ServerOptions): NimbusServer {
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    logger: {
      level: options.logLevel,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.api_key'], censor: '[redacted]' },
    },
    // One log line per inference request is written by serveGeneration; Fastify's own per-request lines are noise.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const accessLog = new AccessLog(options.logLevel);
  app.addHook('onClose', (_instance, done) => {
    accessLog.close();
    done();
  });
  const metrics = new Metrics(options.catalog, options.engines);
  const gate = options.gate ?? openGate;
  const events = new LiveEventBus();
  const context: ServerContext = {
    catalog: options.catalog,
    apps: new AppDirectory(options.store.apps, systemClock),
    store: options.store,
    metrics,
    lifecycle: new Lifecycle(),
    logger: app.log,
    accessLog,
    gate,
    accounting: new Accounting({ gate, store: options.store, events, meter: metrics, accessLog, log: app.log }),
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.reportCompute ? { reportCompute: true } : {}),
    ...(options.readiness ? { readiness: options.readiness } : {}),
    events,
  };
  installErrorHandling(app, options.bodyLimit, context.metrics);
  // The API speaks JSON only: anything else is a 415, not a string the routes would misread.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', (request, _reply, done) => {
    if (context.lifecycle.draining && request.url.startsWith('/v1/')) {
      done(new NimbusError('shutting_down', 'The server is shutting down; retry on another replica.', { headers: { connection: 'close' } }));
      return;
    }
    done();
  });
  installPrincipal(app, options.resolvePrincipal);
  registerHealthRoutes(app, context);
  registerModelRoutes(app, context);
  registerInferenceRoutes(app, context);
  registerTenantRoutes(app, context);
  registerKeyRoutes(app, context);
  registerUsageRoutes(app, context);
  registerRequestRoutes(app, context);
  if (options.pool) registerPoolRoutes(app, options.pool, () => options.engines.flatMap((engine) => engine.staticWorkers?.() ?? []));
  if (options.modelFiles) registerModelFileRoutes(app, context, options.modelFiles);
  registerLiveRoutes(app, context);
  registerMeLimitsRoutes(app, context);
  registerAlertRoutes(app, context);
  if (options.consoleDirectory !== undefined) registerConsoleRoutes(app, options.consoleDirectory);
  return { app, context };
}
