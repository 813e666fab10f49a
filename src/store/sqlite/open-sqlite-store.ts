/** The default store: SQLite through better-sqlite3, in WAL mode, in one file under NIMBUS_HOME. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely } from 'kysely';
import { ImmediateSqliteDialect } from './immediate-dialect.js';
import { encodeRequestLogBatch, KyselyStore, requestLogColumns, type RequestLogWriter } from '../kysely-store.js';
import type { Database } from '../schema.js';
import { rollupUpsertSql } from '../usage-rollups.js';
import { fts5Index } from './fts5-index.js';
import { batchInserter, LedgerThread, type RollupWriter } from './ledger-thread.js';
import { SqliteDeviceStore } from './sqlite-device-store.js';
import { sqliteResponseWriter } from './sqlite-response-writer.js';
import { cachingStatements } from './statement-cache.js';

export interface SqliteStoreOptions {
  /**
   * Write ledger rows on a worker thread with its own connection (the default for a file), or
   * on the request thread (always for `:memory:`, which another connection cannot see).
   */
  ledgerThread?: boolean;
  /**
   * How long a stored response's write waits on the ledger thread for others to share its message
   * and commit (decision 0021). Its answer has gone already and reads here wait for it (sending
   * it at once), so what it costs is a crash's window: as the ledger's own rows, which wait 50 ms.
   */
  responseHoldMs?: number;
}

/** Opens (creating if needed) and migrates a SQLite store; `:memory:` for a throwaway one. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<KyselyStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const store = new KyselyStore(new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(database) }) }), {
    requestLogWriter: () => requestLogWriter(database, path, options.ledgerThread ?? path !== ':memory:', options.responseHoldMs ?? 50),
    lexicalIndex: fts5Index,
    deviceStore: (db) => new SqliteDeviceStore(db, database),
    responseWriter: (db, ledger) => sqliteResponseWriter(database, db, ledger),
  });
  await store.migrate();
  return store;
}

/**
 * Positional parameters, in `requestLogColumns` order, as `encodeRequestLogRow` writes a row's
 * values: binding an array costs less than named parameters (~19 against ~23 µs a row here).
 */
const insertSql = `insert into request_log (${requestLogColumns.join(', ')}) values (${requestLogColumns.map(() => '?').join(', ')}) on conflict (id) do nothing`;

/** The hourly sums' upsert, and where its values sit in an encoded row. */
const rollup: RollupWriter = {
  sql: rollupUpsertSql,
  columns: (
    [
      'created_at',
      'tenant_id',
      'key_id',
      'model',
      'device_class',
      'status',
      'app_id',
      'app_version',
      'prompt_tokens',
      'cached_tokens',
      'completion_tokens',
      'compute_seconds',
      'cost_nano_usd',
    ] as const
  ).map((column) => requestLogColumns.indexOf(column)),
};

/**
 * Ledger rows through one prepared statement (`batchInserter`): no SQL built or parsed per flush.
 * On a worker thread where it can start one (ledger-thread.ts), else on this thread.
 */
async function requestLogWriter(database: SQLite.Database, path: string, threaded: boolean, responseHoldMs: number): Promise<RequestLogWriter> {
  if (threaded) {
    try {
      return await LedgerThread.start(path, insertSql, rollup, responseHoldMs);
    } catch (error) {
      console.error(`nimbus: the ledger writes on the request thread: its own thread did not start (${(error as Error).message})`);
    }
  }
  const insert = batchInserter(database, insertSql, rollup);
  return {
    write: (rows) => {
      const refused = insert(JSON.parse(encodeRequestLogBatch(rows)) as unknown[][]);
      if (refused !== undefined) throw new Error(refused);
    },
  };
}
