/**
 * The scale-out store: PostgreSQL through a `pg` pool, chosen by `databaseUrl=postgres://...`.
 * Several control-plane processes share one database; migrations take Kysely's lock, so they
 * may start together.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { encodeRequestLogBatch, KyselyStore, requestLogColumns } from '../kysely-store.js';
import type { Database } from '../schema.js';
import { rollupColumns, rollupRowsSql } from '../usage-rollups.js';
import { postingsIndex } from './postings-index.js';
import { postgresResponseWriter } from './postgres-response-writer.js';

/** Options beyond the URL. */
export interface PostgresStoreOptions {
  /** Tables live in this schema (created if needed): tests give each run its own. */
  schema?: string;
  /** Connections in the pool. */
  maxConnections?: number;
  /** How often queued request-log rows are written. */
  flushIntervalMs?: number;
}

const int8 = 20;

/** Opens and migrates a PostgreSQL store. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<KyselyStore> {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
    throw new Error(`Invalid PostgreSQL schema name '${options.schema}': use lower-case letters, digits and _.`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    // bigint columns hold unix milliseconds and nano-dollars: both fit a double exactly.
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === int8 ? Number : pg.types.getTypeParser(oid, format)) },
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client that loses its connection must not crash the process; the next query reconnects.
  pool.on('error', (error) => console.error(`nimbus: PostgreSQL connection lost: ${error.message}`));
  try {
    await pool.query('select 1');
    if (options.schema) await pool.query(`create schema if not exists ${options.schema}`).catch(ignoreDuplicate);
  } catch (error) {
    await pool.end();
    throw new Error(`Cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}. Check NIMBUS_DATABASE_URL.`, { cause: error });
  }
  const store = new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), {
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
    requestLogWriter: () => ({ write: (rows) => writeRequestLog(pool, rows) }),
    lexicalIndex: postingsIndex,
    responseWriter: postgresResponseWriter,
  });
  await store.migrate(options.schema);
  return store;
}

/** The ledger's PostgreSQL column types (migrations.ts, tenancy-migrations.ts, ledger-migrations.ts), for the batch insert's casts. */
const columnTypes: Record<(typeof requestLogColumns)[number], string> = {
  id: 'text',
  created_at: 'bigint',
  kind: 'text',
  model: 'text',
  http_status: 'integer',
  status: 'text',
  prompt_tokens: 'integer',
  completion_tokens: 'integer',
  cached_tokens: 'integer',
  ttft_ms: 'double precision',
  duration_ms: 'double precision',
  finish_reason: 'text',
  stream: 'integer',
  error_code: 'text',
  served_by: 'text',
  route: 'text',
  usage_estimated: 'integer',
  tenant_id: 'text',
  key_id: 'text',
  deployment: 'text',
  worker: 'text',
  device_class: 'text',
  compute_seconds: 'double precision',
  cost_nano_usd: 'bigint',
  requested_model: 'text',
  parent_id: 'text',
  app_id: 'text',
  app_version: 'text',
  batch_id: 'text',
};

/**
 * A batch of ledger rows in one statement with one parameter: the encoded rows joined into one
 * JSON array, taken apart by PostgreSQL (`jsonb_array_elements`, each value cast to its column's
 * type). Building a multi-row insert through Kysely cost the request thread ~20 µs a row
 * (bench/ledger.ts); joining strings costs it next to nothing, and the parsing happens in the
 * database's process. Prepared once per connection (the statement's name). The rows it wrote (not
 * those already there) are summed per hour into `usage_rollups` in the same statement.
 */
const insertSql = `with inserted as (insert into request_log (${requestLogColumns.join(', ')}) select ${requestLogColumns
  .map((column, index) => `(item ->> ${index})::${columnTypes[column]}`)
  .join(', ')} from jsonb_array_elements($1::jsonb) as item on conflict (id) do nothing returning *)
  insert into usage_rollups (${[...rollupColumns.dimensions, ...rollupColumns.sums].join(', ')}) ${rollupRowsSql('inserted')}
  on conflict (${rollupColumns.dimensions.join(', ')}) do update set ${rollupColumns.sums.map((column) => `${column} = usage_rollups.${column} + excluded.${column}`).join(', ')}`;

async function writeRequestLog(pool: pg.Pool, rows: readonly string[]): Promise<void> {
  try {
    await insertRows(pool, rows);
  } catch (error) {
    if (rows.length === 1 || !isDataError(error)) throw error;
    // One row the database refuses must not cost the rest of its batch: they go one by one, and
    // what is refused is reported with how many.
    let refused = 0;
    let reason = error as Error;
    for (const row of rows) {
      try {
        await insertRows(pool, [row]);
      } catch (rowError) {
        refused += 1;
        reason = rowError as Error;
      }
    }
    if (refused > 0) throw new Error(`${refused} of ${rows.length} rows refused: ${reason.message}`);
  }
}

function insertRows(pool: pg.Pool, rows: readonly string[]): Promise<unknown> {
  let json = encodeRequestLogBatch(rows);
  // PostgreSQL text cannot hold a NUL character, and a client may send one (in a model name, say):
  // it is dropped rather than the row. JSON.stringify writes it as \u0000, after an even number of
  // backslashes (an odd number would make it an escaped backslash and the text "u0000").
  if (json.includes('\\u0000')) json = json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1');
  return pool.query({ name: 'nimbus-request-log-insert', text: insertSql, values: [json] });
}

/** PostgreSQL's data exceptions (class 22) and integrity violations (23): the rows, not the connection, are at fault. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Two processes creating one schema at once: the loser's error means it exists, which is what it wanted. */
function ignoreDuplicate(error: { code?: string }): void {
  if (error.code !== '23505' && error.code !== '42P06') throw error;
}

/** A database URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
