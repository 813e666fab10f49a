import type { FastifyBaseLogger } from 'fastify';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { Store } from '../core/store.js';
import type { Lifecycle } from './lifecycle.js';
import type { Metrics } from './metrics.js';

/** What the routes share: picked and wired by main.ts, the composition root. */
export interface ServerContext {
  catalog: ModelCatalog;
  store: Store;
  metrics: Metrics;
  lifecycle: Lifecycle;
  logger: FastifyBaseLogger;
}
