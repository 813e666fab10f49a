import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { requestLogEntry, runStoreContract } from '../store-contract.js';
import { openSqliteStore } from './open-sqlite-store.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-sqlite-'));
let counter = 0;
afterAll(() => rmSync(folder, { recursive: true, force: true }));

runStoreContract('SQLite', () => openSqliteStore(join(folder, `store-${counter++}.db`)));

test('rows survive reopening the file, and migrations run once', async () => {
  const path = join(folder, 'reopen.db');
  const first = await openSqliteStore(path);
  first.recordRequest(requestLogEntry({ id: 'kept' }));
  await first.close();
  const second = await openSqliteStore(path);
  expect((await second.listRequests()).map((row) => row.id)).toEqual(['kept']);
  await second.close();
});
