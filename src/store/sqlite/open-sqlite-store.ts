/** The default store: SQLite through better-sqlite3, in WAL mode, in one file under NIMBUS_HOME. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore, requestLogColumns, type RequestLogWriter } from '../kysely-store.js';
import type { Database } from '../schema.js';

/** Opens (creating if needed) and migrates a SQLite store; `:memory:` for a throwaway one. */
export async function openSqliteStore(path: string): Promise<KyselyStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const store = new KyselyStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), {
    requestLogWriter: () => requestLogWriter(database),
  });
  await store.migrate();
  return store;
}

/** Ledger rows through one prepared statement, a batch per transaction: no SQL built or parsed per flush. */
function requestLogWriter(database: SQLite.Database): RequestLogWriter {
  const insert = database.prepare(
    `insert into request_log (${requestLogColumns.join(', ')}) values (${requestLogColumns.map((column) => `@${column}`).join(', ')}) on conflict (id) do nothing`,
  );
  return database.transaction((rows: Parameters<RequestLogWriter>[0]) => {
    for (const row of rows) insert.run(row);
  });
}
