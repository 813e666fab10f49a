import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterAll, expect, test } from 'vitest';
import { migrationProvider } from '../migrations.js';
import type { Database } from '../schema.js';
import { SqliteDeviceStore } from './sqlite-device-store.js';
import { cachingStatements } from './statement-cache.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-sqlite-devices-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function openDevices(name: string): Promise<{ database: SQLite.Database; db: Kysely<Database>; devices: SqliteDeviceStore }> {
  const database = new SQLite(join(folder, name));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) });
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  expect(error).toBeUndefined();
  return { database, db, devices: new SqliteDeviceStore(db, database) };
}

const query = {
  tenantId: 't1',
  taintSubjects: ['key:k1'],
  keySubject: 'key:k1',
  conversation: null,
  deviceId: 'lamp-1',
  now: 10_000,
  record: true,
  capSince: 0,
  countLimit: 100,
  conversationSince: 0,
};

test("admit never runs inside a Kysely transaction that is open on the connection: it waits, so that transaction's rollback cannot take the step", async () => {
  const { db, devices } = await openDevices('admit-wait.db');
  let admitted: Promise<unknown> | undefined;
  let settledInside = false;
  await expect(
    db.transaction().execute(async (transaction) => {
      await transaction
        .insertInto('device_steps')
        .values({ tenant_id: 't1', kind: 'actuation', key_subject: 'key:k1', conversation: null, device_id: 'x', at: 9000 })
        .execute();
      admitted = devices.admit(query).then((admission) => {
        settledInside = true;
        return admission;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(settledInside).toBe(false);
      throw new Error('roll back');
    }),
  ).rejects.toThrow('roll back');
  // It ran after the rollback, on its own: its step is there and the rolled-back one is not.
  expect(await admitted).toMatchObject({ count: 1 });
  expect(await devices.countSteps('t1', 'actuation', 'key:k1', 0)).toBe(1);
  await db.destroy();
});

test('two connections on one file count each other (another process on the same database)', async () => {
  const one = await openDevices('two.db');
  const two = { database: new SQLite(join(folder, 'two.db')) };
  const other = new SqliteDeviceStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: two.database }) }), two.database);
  const counts: number[] = [];
  for (let index = 0; index < 6; index += 1) counts.push((await (index % 2 === 0 ? one.devices : other).admit(query)).count);
  expect(counts).toEqual([1, 2, 3, 4, 5, 6]);
  await one.db.destroy();
  two.database.close();
});

test('the statement cache reuses a statement by its SQL, keeps at most its size, and gives a busy one to nobody', () => {
  const database = new SQLite(':memory:');
  const cached = cachingStatements(database, 2);
  database.exec('create table t (x integer); insert into t values (1), (2), (3)');
  const first = cached.prepare('select x from t');
  expect(cached.prepare('select x from t')).toBe(first);
  // A statement still iterating is busy: a second caller gets its own.
  const iterator = first.iterate([]);
  iterator.next();
  const second = cached.prepare('select x from t');
  expect(second).not.toBe(first);
  expect(second.all([])).toHaveLength(3);
  iterator.return?.();
  // Past its size the least recently used goes.
  cached.prepare('select 1');
  cached.prepare('select 2');
  expect(cached.prepare('select x from t')).not.toBe(second);
  database.close();
});
