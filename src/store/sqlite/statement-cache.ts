/**
 * Kysely's SQLite driver prepares every query it runs, and on the device command path (a dozen
 * small queries a command) better-sqlite3's `prepare` was the largest single cost after the
 * writes themselves (parsing and planning SQL that is the same every time). This keeps the last
 * statements by their SQL text, so a query Kysely compiles to the same text reuses its plan.
 */
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** How many distinct SQL texts are kept (a query with an `in (...)` list is one per list length). */
export const statementCacheSize = 256;

/** `database` for Kysely's SqliteDialect, with prepared statements reused by SQL text (least recently used dropped). */
export function cachingStatements(database: SQLite.Database, size = statementCacheSize): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const cached = cache.get(sql);
      cache.delete(sql);
      // A statement still iterating (a streamed query) cannot run again until it ends: that caller gets a fresh one.
      const statement = cached && !cached.busy ? cached : database.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
      return statement;
    },
  };
}
