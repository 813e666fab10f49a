/**
 * The scale-out store: PostgreSQL through a `pg` pool, chosen by `databaseUrl=postgres://...`.
 * Several control-plane processes share one database; migrations take Kysely's lock, so they
 * may start together.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyStore } from '../kysely-store.js';
import type { Database } from '../schema.js';

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
  });
  await store.migrate(options.schema);
  return store;
}

/** Two processes creating one schema at once: the loser's error means it exists, which is what it wanted. */
function ignoreDuplicate(error: { code?: string }): void {
  if (error.code !== '23505' && error.code !== '42P06') throw error;
}

/** A database URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
