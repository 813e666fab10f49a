/**
 * On SQLite a stored response's write waits on the ledger thread for others to share its commit
 * (decision 0021, `responseHoldMs`). Its answer has gone already, so what a user can see of the
 * hold is only what it must never cause: a read of the response here (retrieve, a continuation)
 * waiting for the hold, or a shutdown losing a write still held. Real SQLite files, the real
 * ledger thread, a hold of a minute so that any wait on it would show.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { systemClock } from '../src/core/clock.js';
import type { Store } from '../src/core/store.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { ResponseRecords } from '../src/responses/response-records.js';
import { responseRecord } from './support/response-record.js';

const hold = 60_000;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function heldStore(path = join(mkdtempSync(join(tmpdir(), 'nimbus-held-')), 'nimbus.db')): Promise<{ records: ResponseRecords; path: string }> {
  store = await openSqliteStore(path, { responseHoldMs: hold });
  return { records: new ResponseRecords(store.responses, { retentionDays: 30, tenantStorageBytes: 1 << 20 }, systemClock, true), path };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

test('writes are held for others to join them, and a read of one sends them at once', async () => {
  const { records } = await heldStore();
  const saves = [records.save(responseRecord('resp_1'))];
  await nextTurn();
  saves.push(records.save(responseRecord('resp_2', 'resp_1')));
  await nextTurn();
  let committed = 0;
  for (const save of saves) void save.then(() => committed++);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(committed).toBe(0);
  const started = performance.now();
  const conversation = await records.conversation('acme', 'resp_2');
  expect(performance.now() - started).toBeLessThan(hold / 10);
  expect(conversation.map((item) => item.id)).toEqual(['in_resp_1', 'msg_resp_1', 'in_resp_2', 'msg_resp_2']);
  await Promise.all(saves);
  expect(committed).toBe(2);
});

test('retrieve, input items and delete of a held write send it and find it', async () => {
  const { records } = await heldStore();
  void records.save(responseRecord('resp_a'));
  void records.save(responseRecord('resp_b'));
  void records.save(responseRecord('resp_c'));
  await nextTurn();
  expect(await records.get('acme', 'resp_a')).toMatchObject({ id: 'resp_a' });
  expect((await records.inputItems('acme', 'resp_b', { limit: 20, order: 'asc' }))?.map((item) => item.id)).toEqual(['in_resp_b']);
  expect(await records.delete('acme', 'resp_c')).toBe(true);
  expect(await records.get('acme', 'resp_c')).toBeUndefined();
});

test('a caller that waits for its write (a batch line) is not held', async () => {
  const { records } = await heldStore();
  const started = performance.now();
  await records.save(responseRecord('resp_w'), { waited: true });
  expect(performance.now() - started).toBeLessThan(hold / 10);
});

test('closing the store commits the writes still held', async () => {
  const { records, path } = await heldStore();
  const saved = records.save(responseRecord('resp_kept'));
  await nextTurn();
  const closing = store!.close();
  store = undefined;
  await closing;
  await saved;
  const reopened = await heldStore(path);
  expect(await reopened.records.get('acme', 'resp_kept')).toMatchObject({ id: 'resp_kept' });
});
