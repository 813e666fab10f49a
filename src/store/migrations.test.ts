/**
 * Upgrades must never break: the migrations form one ordering that only grows past what has been
 * released, released migrations are never edited (a snapshot of the schema they make), and a
 * database made by the last release, with a row in every table, opens with today's code on SQLite
 * and on PostgreSQL and keeps every row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from '../../test/support/services.js';
import type { KyselyStore } from './kysely-store.js';
import { allMigrations } from './migrations.js';
import { openPostgresStore } from './postgres/open-postgres-store.js';
import { releasedTableRows, seedReleasedDatabase } from './released-fixture.js';
import { releasedMigrations } from './released-migrations.js';
import { openSqliteStore } from './sqlite/open-sqlite-store.js';

const names = Object.keys(allMigrations);
const lastReleased = releasedMigrations.at(-1)!;
/** What the last release ran: its migrations only, as a database in the field has them. */
const releasedProvider = {
  getMigrations: async () => Object.fromEntries(releasedMigrations.map((name) => [name, allMigrations[name]!])),
};
const folder = mkdtempSync(join(tmpdir(), 'nimbus-migrations-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('the one ordering', () => {
  test('every name is NNNN-words, and no two share a number', () => {
    for (const name of names) expect(name).toMatch(/^\d{4}-[a-z0-9]+(-[a-z0-9]+)*$/);
    const numbers = names.map((name) => name.slice(0, 4));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  test('the released migrations come first in the order Kysely runs them, and every new one after the last', () => {
    const sorted = [...names].sort();
    expect(sorted.slice(0, releasedMigrations.length)).toEqual(releasedMigrations);
    for (const name of sorted.slice(releasedMigrations.length)) expect(name > lastReleased).toBe(true);
  });
});

async function releasedSqlite(path: string): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(path) }) });
  try {
    const { error } = await new Migrator({ db, provider: releasedProvider }).migrateToLatest();
    expect(error).toBeUndefined();
    await seedReleasedDatabase(db);
  } finally {
    await db.destroy();
  }
}

async function countRows(store: KyselyStore): Promise<Record<string, number>> {
  // The store's Kysely is private; count through a read of each table by name.
  const db = (store as unknown as { db: Kysely<unknown> }).db;
  const counts: Record<string, number> = {};
  for (const table of Object.keys(releasedTableRows)) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    counts[table] = Number(rows[0]?.n);
  }
  return counts;
}

async function expectUpgraded(store: KyselyStore): Promise<void> {
  expect(await countRows(store)).toEqual(releasedTableRows);
  expect(await store.listRequests()).toEqual([expect.objectContaining({ id: 'req_old', tenantId: 'acme', promptTokens: 3, costNanoUsd: 1234 })]);
  expect(await store.tenancy.getApiKey('key_old')).toMatchObject({ tenantId: 'acme', prefix: 'nmb_abcd' });
  expect(await store.devices.getDevice('acme', 'lamp-1')).toBeDefined();
  // Deployed before pools carried spare slots (0050): its replicas loaded without one, so it keeps none.
  expect(await store.pool.getDeployment('old')).toMatchObject({ replicas: 2, slots: 1, autoscale: null, spareSlots: 0 });
}

test('the schema the released migrations make has not changed (a released migration is never edited)', async () => {
  const path = join(folder, 'released-schema.db');
  await releasedSqlite(path);
  const database = new SQLite(path, { readonly: true });
  const rows = database
    .prepare("select type, name, tbl_name, sql from sqlite_master where name not like 'kysely_%' and name not like 'sqlite_%' order by type, name")
    .all() as Array<{ type: string; name: string; sql: string | null }>;
  database.close();
  const dump = rows.map((row) => `-- ${row.type} ${row.name}\n${row.sql ?? '(implicit)'}`).join('\n\n');
  await expect(`${dump}\n`).toMatchFileSnapshot('./__snapshots__/released-schema.sqlite.sql');
});

test('SQLite: a database made by the last release opens with today’s code and keeps every row', async () => {
  const path = join(folder, 'upgrade.db');
  await releasedSqlite(path);
  const store = await openSqliteStore(path);
  try {
    await expectUpgraded(store);
  } finally {
    await store.close();
  }
  // Opening it again runs nothing more.
  const again = await openSqliteStore(path);
  await again.close();
});

const skipPostgres = await skipWithoutPostgres();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

test.skipIf(skipPostgres)('PostgreSQL: a database made by the last release opens with today’s code and keeps every row', async () => {
  const schema = uniqueName('upgrade');
  schemas.push(schema);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 1, options: `-c search_path=${schema}` });
  await pool.query(`create schema ${schema}`);
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    const { error } = await new Migrator({ db, provider: releasedProvider, migrationTableSchema: schema }).migrateToLatest();
    expect(error).toBeUndefined();
    await seedReleasedDatabase(db);
  } finally {
    await db.destroy();
  }
  const store = await openPostgresStore(postgresUrl, { schema });
  try {
    await expectUpgraded(store);
  } finally {
    await store.close();
  }
});
