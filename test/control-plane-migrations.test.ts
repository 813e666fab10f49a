/**
 * Store migrations under a lock, for a rolling upgrade of several control planes on one PostgreSQL.
 * Kysely's migrator takes a session-level `pg_advisory_lock` (one fixed id per database) around
 * every run and reads what was applied only once it holds it: a store opening while another holds
 * the lock waits and creates nothing; three `nimbus serve` of today's code started at once on a
 * database made by the last release all start, and each pending migration is applied once (a
 * second application of a `create table` would fail its process's start).
 */
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { allMigrations } from '../src/store/migrations.js';
import { openPostgresStore } from '../src/store/postgres/open-postgres-store.js';
import { releasedMigrations } from '../src/store/released-migrations.js';
import { killNimbusProcesses, startNimbusProcess } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';

/** The advisory lock id of Kysely's PostgreSQL migrator (kysely/dist/esm/dialect/postgres/postgres-adapter.js). */
const kyselyMigrationLock = '3853314791062309107';
const databases: Array<{ url: string; drop(): Promise<void> }> = [];

afterAll(async () => {
  killNimbusProcesses();
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const database of databases) await database.drop();
});

async function query<Row extends pg.QueryResultRow>(url: string, text: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('migrations under a lock on PostgreSQL', () => {
  test('a store opening while the migration lock is held waits, creates nothing, and migrates once it is free', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const database = await createTestDatabase();
    databases.push(database);
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    await holder.query(`select pg_advisory_lock(${kyselyMigrationLock})`);
    let opened = false;
    const opening = openPostgresStore(database.url).then((store) => {
      opened = true;
      return store;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(opened).toBe(false);
    expect(await query(database.url, `select to_regclass('public.pool_demand') as found`)).toEqual([{ found: null }]);
    await holder.query(`select pg_advisory_unlock(${kyselyMigrationLock})`);
    await holder.end();
    const store = await opening;
    await store.close();
    expect(await query(database.url, `select to_regclass('public.pool_demand')::text as found`)).toEqual([{ found: 'pool_demand' }]);
  }, 30_000);

  test('three control planes of today started at once on a database of an older release: all start, each migration applied once', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const database = await createTestDatabase();
    databases.push(database);
    // A fixed older release (the one that shipped batches), so that migrations are pending however
    // many later ones have been released since: the three planes race to apply 0039 onwards.
    const olderRelease = releasedMigrations.slice(0, releasedMigrations.indexOf('0037-batches') + 1);
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    try {
      const older = { getMigrations: async () => Object.fromEntries(olderRelease.map((name) => [name, allMigrations[name]!])) };
      const { error } = await new Migrator({ db, provider: older }).migrateToLatest();
      expect(error).toBeUndefined();
      await sql`insert into tenants (id, name, limits, created_at) values ('acme', 'Acme', '{}', 1000)`.execute(db);
      await sql`insert into api_keys (id, tenant_id, name, prefix, hash, scopes, limits, created_at) values ('key_old', 'acme', 'ci', 'nmb_abcd', 'hash-old', '["inference"]', '{}', 1000)`.execute(
        db,
      );
      await sql`insert into pool_deployments (name, source, replicas, device, context_size, slots, routing, created_at, updated_at, autoscale) values ('old', '/m.gguf', 2, 'cpu', 256, 1, 'round-robin', 1000, 1000, null)`.execute(
        db,
      );
    } finally {
      await db.destroy();
    }
    const pending = Object.keys(allMigrations).filter((name) => !olderRelease.includes(name));
    expect(pending).toContain('0042-cross-control-plane');

    const planes = await Promise.all([1, 2, 3].map(() => startNimbusProcess([], { NIMBUS_DATABASE_URL: database.url })));
    for (const plane of planes) expect((await fetch(`${plane.url}/readyz`)).status).toBe(200);
    const applied = await query<{ name: string }>(database.url, 'select name from kysely_migration order by name');
    expect(applied.map((row) => row.name)).toEqual(Object.keys(allMigrations).sort());
    // The release's rows are kept: its deployment and its key are still there.
    expect(await query(database.url, `select name from pool_deployments`)).toEqual([{ name: 'old' }]);
    expect(await query(database.url, `select id from api_keys where id = 'key_old'`)).toEqual([{ id: 'key_old' }]);
  }, 120_000);
});
