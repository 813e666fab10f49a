/**
 * A server for responses whose model is a ScriptedEngine (it decides which tool, exactly), with
 * the real store (SQLite), knowledge (files and vector stores) and the official client: the real
 * tool loop, accounting and search run the mechanics. Apps (`/v1/apps`) are installed too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { installApps } from '../../src/api/install-apps.js';
import { installKnowledge } from '../../src/api/install-knowledge.js';
import { fileSearchKind } from '../../src/api/responses/file-search-tool.js';
import { mcpKind } from '../../src/api/responses/mcp-tool.js';
import { registerResponseRoutes } from '../../src/api/routes/responses.js';
import { buildServer } from '../../src/api/server.js';
import { systemClock } from '../../src/core/clock.js';
import { ModelCatalog } from '../../src/core/model-catalog.js';
import { mcpConfigSchema, type McpConfig } from '../../src/core/mcp-config.js';
import { localPrincipal } from '../../src/core/principal.js';
import { billedChunkEmbedder } from '../../src/knowledge/chunk-embedder.js';
import { startKnowledge } from '../../src/knowledge/start-knowledge.js';
import { ResponseRecords } from '../../src/responses/response-records.js';
import { guardedFetch } from '../../src/tools/mcp/guarded-fetch.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';
import { ScriptedEngine } from './scripted-engine.js';

export interface ResponsesServer {
  url: string;
  /** The folder of its SQLite database. */
  home: string;
  client: OpenAI;
  engine: ScriptedEngine;
  store: KyselyStore;
  stop(): Promise<void>;
}

/**
 * `embeddings`: the scripted model also embeds, so file search is hybrid and its query embedding is billed.
 * `mcp`: the MCP settings (remote MCP tools are off unless hosts are listed).
 */
export async function startResponsesServer(options: { embeddings?: boolean; mcp?: Partial<McpConfig> } = {}): Promise<ResponsesServer> {
  const home = mkdtempSync(join(tmpdir(), 'nimbus-responses-'));
  const store = await openSqliteStore(join(home, 'nimbus.db'));
  const engine = new ScriptedEngine();
  const { app, context } = buildServer({
    catalog: new ModelCatalog([engine]),
    engines: [engine],
    store,
    bodyLimit: 1 << 20,
    logLevel: 'silent',
    resolvePrincipal: () => localPrincipal,
  });
  const knowledge = startKnowledge({
    store: store.knowledge,
    home,
    limits: { maxFileBytes: 1 << 20, tenantStorageBytes: 1 << 24 },
    clock: systemClock,
    ...(options.embeddings ? { embedder: billedChunkEmbedder(context.accounting, context.catalog, 'scripted') } : {}),
    onError: (error) => console.error(error),
  });
  installKnowledge(app, knowledge);
  installApps(app, context, knowledge);
  // SQLite, as main.ts: answers may go out before their write commits (decision 0020).
  const records = new ResponseRecords(store.responses, { retentionDays: 30, tenantStorageBytes: 1 << 24 }, systemClock, true);
  const settings = mcpConfigSchema.parse(options.mcp ?? {});
  registerResponseRoutes(app, context, {
    records,
    maxToolTurns: 4,
    serverTools: {
      file_search: fileSearchKind(knowledge.search),
      mcp: mcpKind({ settings, fetch: guardedFetch(settings), version: 'test' }),
    },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    home,
    engine,
    store,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'local', maxRetries: 0 }),
    async stop() {
      await knowledge.stop();
      await app.close();
      await store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
