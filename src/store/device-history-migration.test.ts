/**
 * Migration 0049 on a history that two control planes wrote before it (SQLite and PostgreSQL):
 * rows written twice for one message are removed, the first kept; rows that share a version and
 * kind but differ (planes that numbered differently) and events at one version are all kept,
 * numbered by ordinal; a row written again afterwards is stored once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from '../../test/support/services.js';
import { allMigrations } from './migrations.js';

const before = { getMigrations: async () => Object.fromEntries(Object.entries(allMigrations).filter(([name]) => name < '0049')) };
const through = { getMigrations: async () => Object.fromEntries(Object.entries(allMigrations).filter(([name]) => name.slice(0, 4) <= '0049')) };

// Oldest first: [version, kind, data]. Plane a and plane b each wrote the report at 2 and the event;
// at 3 they numbered differently; the lock's two distinct events at one version are both real.
const written: Array<[string, number, string, string]> = [
  ['lamp', 1, 'connection', '{"connection":"online"}'],
  ['lamp', 2, 'reported', '{"on":true}'],
  ['lamp', 2, 'reported', '{"on":true}'],
  ['lamp', 2, 'event', '{"name":"pressed","data":{}}'],
  ['lamp', 2, 'event', '{"name":"pressed","data":{}}'],
  ['lamp', 3, 'desired', '{"on":false}'],
  ['lamp', 3, 'reported', '{"on":false}'],
  ['lamp', 3, 'reported', '{"brightness":5}'],
  ['lock', 1, 'event', '{"name":"visitor","data":"a"}'],
  ['lock', 1, 'event', '{"name":"visitor","data":"b"}'],
];

async function check(db: Kysely<unknown>, migrationTableSchema?: string): Promise<void> {
  const options = migrationTableSchema ? { migrationTableSchema } : {};
  expect((await new Migrator({ db, provider: before, ...options }).migrateToLatest()).error).toBeUndefined();
  for (const [device, version, kind, data] of written)
    await sql`insert into device_history (tenant_id, device_id, version, at, kind, data) values ('t', ${device}, ${version}, 1, ${kind}, ${data})`.execute(db);
  expect((await new Migrator({ db, provider: through, ...options }).migrateToLatest()).error).toBeUndefined();
  const rows = async (): Promise<unknown[]> =>
    (
      await sql<{ device_id: string; version: number; kind: string; ordinal: number; data: string }>`
        select device_id, version, kind, ordinal, data from device_history order by seq`.execute(db)
    ).rows.map((row) => [row.device_id, Number(row.version), row.kind, Number(row.ordinal), row.data]);
  expect(await rows()).toEqual([
    ['lamp', 1, 'connection', 0, '{"connection":"online"}'],
    ['lamp', 2, 'reported', 0, '{"on":true}'],
    ['lamp', 2, 'event', 0, '{"name":"pressed","data":{}}'],
    ['lamp', 3, 'desired', 0, '{"on":false}'],
    ['lamp', 3, 'reported', 0, '{"on":false}'],
    ['lamp', 3, 'reported', 1, '{"brightness":5}'],
    ['lock', 1, 'event', 0, '{"name":"visitor","data":"a"}'],
    ['lock', 1, 'event', 1, '{"name":"visitor","data":"b"}'],
  ]);
  await expect(
    sql`insert into device_history (tenant_id, device_id, version, at, kind, data) values ('t', 'lamp', 2, 9, 'reported', '{"on":true}')`.execute(db),
  ).rejects.toThrow();
}

const folder = mkdtempSync(join(tmpdir(), 'nimbus-history-migration-'));
const schemas: string[] = [];
afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await dropSchemas(schemas);
});

test('SQLite: 0049 removes rows written twice and numbers the rest', async () => {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(join(folder, 'history.db')) }) });
  try {
    await check(db);
  } finally {
    await db.destroy();
  }
});

const skipPostgres = await skipWithoutPostgres();

test.skipIf(skipPostgres)('PostgreSQL: 0049 removes rows written twice and numbers the rest', async () => {
  const schema = uniqueName('history');
  schemas.push(schema);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 1, options: `-c search_path=${schema}` });
  await pool.query(`create schema ${schema}`);
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    await check(db, schema);
  } finally {
    await db.destroy();
  }
});
