/** What differs between the SQL dialects, for the few places portable DDL cannot say it. */
import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

/** Whether `db` talks to PostgreSQL. */
export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** A 64-bit float column: SQLite's `real` is one already; PostgreSQL's `real` is only 32 bits. */
export function doubleType(db: Kysely<unknown>): 'real' | 'double precision' {
  return isPostgres(db) ? 'double precision' : 'real';
}

/**
 * An auto-incrementing integer primary key: `integer primary key autoincrement` in SQLite, an
 * identity column in PostgreSQL (which has no `autoincrement`). Use as
 * `.addColumn('seq', serial.type, serial.build)` with `const serial = serialKey(db)`.
 */
export function serialKey(db: Kysely<unknown>): { type: 'integer' | 'bigint'; build: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder } {
  if (isPostgres(db)) return { type: 'bigint', build: (column) => column.primaryKey().generatedByDefaultAsIdentity() };
  return { type: 'integer', build: (column) => column.primaryKey().autoIncrement() };
}
