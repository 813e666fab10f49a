/**
 * Responses and batches in the composition root: the stored responses with their tools (file
 * search, devices, remote MCP), and the Batch API whose lines run through the same endpoints.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { BatchLines } from './api/batch-lines.js';
import { batchResponses } from './api/responses/batch-response.js';
import { deviceToolKind } from './api/responses/device-tool.js';
import { fileSearchKind } from './api/responses/file-search-tool.js';
import { mcpKind } from './api/responses/mcp-tool.js';
import { registerBatchRoutes } from './api/routes/batches.js';
import { registerResponseRoutes } from './api/routes/responses.js';
import type { ServerContext } from './api/server-context.js';
import { buildBatches, type BatchServices } from './batch/start-batches.js';
import { systemClock } from './core/clock.js';
import type { NimbusConfig } from './core/config.js';
import type { Store } from './core/store.js';
import { instanceId } from './devices/instance-id.js';
import type { RunningKnowledge } from './knowledge/start-knowledge.js';
import { ResponseRecords } from './responses/response-records.js';
import type { KeyResolver } from './tenancy/key-resolver.js';
import { guardedFetch } from './tools/mcp/guarded-fetch.js';

/** Nimbus's version, as MCP servers and device clients are told it. */
export const nimbusVersion = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface ResponsesWiring {
  config: NimbusConfig;
  store: Store;
  /** Whether this store is SQLite: then this process is its only reader (decision 0020). */
  sqlite: boolean;
  knowledge: RunningKnowledge;
  resolver: KeyResolver;
}

export function installResponses(
  app: FastifyInstance,
  context: ServerContext,
  { config, store, sqlite, knowledge, resolver }: ResponsesWiring,
): { responses: ResponseRecords; batches: BatchServices } {
  // On SQLite this process is the store's only reader (one control plane per database), so a stored
  // response may be answered before its write commits: its reads here wait for the write (decision 0020).
  const responses = new ResponseRecords(store.responses, config.responses, systemClock, sqlite);
  registerResponseRoutes(app, context, {
    records: responses,
    maxToolTurns: config.responses.maxToolTurns,
    serverTools: {
      file_search: fileSearchKind(knowledge.search),
      nimbus_devices: deviceToolKind(context),
      mcp: mcpKind({ settings: config.mcp, fetch: guardedFetch(config.mcp), version: nimbusVersion }),
    },
  });
  const batches = buildBatches({
    store: store.batches,
    files: knowledge.files,
    executor: new BatchLines({
      catalog: context.catalog,
      accounting: context.accounting,
      discount: config.batchDiscount,
      defaultMaxTokens: config.tenancy.defaultMaxTokens,
      principalFor: (saved) => resolver.principalFor(saved),
      responses: batchResponses(context, responses, config.responses.maxToolTurns),
    }),
    clock: systemClock,
    owner: instanceId(config.home),
    limits: config.batches,
    flushLedger: () => store.flush(),
    onError: (error, batchId) => app.log.error({ err: error, batchId }, 'batches: work outside a request failed; it is tried again'),
  });
  registerBatchRoutes(app, batches.batches);
  return { responses, batches };
}
