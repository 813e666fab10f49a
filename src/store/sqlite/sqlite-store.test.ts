import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterAll, expect, test } from 'vitest';
import { migrationProvider } from '../migrations.js';
import type { Database } from '../schema.js';
import { requestLogEntry, runStoreContract } from '../store-contract.js';
import { openSqliteStore } from './open-sqlite-store.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-sqlite-'));
let counter = 0;
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let lastPath = '';
runStoreContract(
  'SQLite',
  () => openSqliteStore((lastPath = join(folder, `store-${counter++}.db`))),
  () => openSqliteStore(lastPath),
);

test('rows survive reopening the file, and migrations run once', async () => {
  const path = join(folder, 'reopen.db');
  const first = await openSqliteStore(path);
  first.recordRequest(requestLogEntry({ id: 'kept' }));
  await first.close();
  const second = await openSqliteStore(path);
  expect((await second.listRequests()).map((row) => row.id)).toEqual(['kept']);
  await second.close();
});

test('a database from before 0002 gains route and usage_estimated, and its rows read back with defaults', async () => {
  const path = join(folder, 'upgrade.db');
  const database = new SQLite(path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0001-request-log');
  expect(error).toBeUndefined();
  await sql`insert into request_log (id, created_at, kind, model, http_status, status, duration_ms) values ('old', 1, 'chat', 'm', 200, 'ok', 5)`.execute(db);
  await db.destroy();
  const store = await openSqliteStore(path);
  expect(await store.listRequests()).toEqual([expect.objectContaining({ id: 'old', route: null, usageEstimated: false })]);
  await store.close();
});

test('a pool database from before 0021 gains the autoscale column; its deployments read back with a fixed count', async () => {
  const path = join(folder, 'pool-upgrade.db');
  const database = new SQLite(path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0020-pool');
  expect(error).toBeUndefined();
  await sql`insert into pool_deployments (name, source, replicas, device, context_size, slots, routing, created_at, updated_at)
    values ('old', '/m.gguf', 2, 'cpu', 256, 1, 'round-robin', 1, 1)`.execute(db);
  await db.destroy();
  const store = await openSqliteStore(path);
  expect(await store.pool.getDeployment('old')).toMatchObject({ name: 'old', replicas: 2, autoscale: null });
  await store.close();
});

test('deployments survive reopening the file (a control-plane restart)', async () => {
  const path = join(folder, 'pool.db');
  const first = await openSqliteStore(path);
  await first.pool.putDeployment({
    name: 'kept',
    source: '/m.gguf',
    replicas: 2,
    device: 'cpu',
    contextSize: 256,
    slots: 1,
    spareSlots: 1,
    routing: 'round-robin',
    autoscale: null,
    createdAt: 1,
    updatedAt: 1,
  });
  await first.close();
  const second = await openSqliteStore(path);
  expect((await second.pool.listDeployments()).map((row) => [row.name, row.replicas])).toEqual([['kept', 2]]);
  await second.close();
});

runStoreContract(
  'SQLite, ledger on the request thread',
  () => openSqliteStore((lastPath = join(folder, `inline-${counter++}.db`)), { ledgerThread: false }),
  () => openSqliteStore(lastPath, { ledgerThread: false }),
);

test('the ledger thread: a burst of rows is queryable after flush, and close waits for the last batch', async () => {
  const path = join(folder, 'threaded.db');
  const store = await openSqliteStore(path);
  for (let index = 0; index < 1000; index += 1) store.recordRequest(requestLogEntry({ id: `burst-${index}`, createdAt: 1_000 + index }));
  await store.flush();
  expect(await store.listRequests({ limit: 2000 })).toHaveLength(1000);
  // Recorded just before close: close must flush them through the thread, not drop them.
  for (let index = 0; index < 10; index += 1) store.recordRequest(requestLogEntry({ id: `late-${index}`, createdAt: 5_000 + index }));
  await store.close();
  const reopened = await openSqliteStore(path, { ledgerThread: false });
  expect((await reopened.listRequests({ limit: 2000 })).filter((row) => row.id.startsWith('late-'))).toHaveLength(10);
  await reopened.close();
});
