/**
 * A stored response whose write is still in flight (its answer may already be out, decision
 * 0020): every read of it in this process waits for the write instead of missing it. The store is
 * a real SQLite one whose writes are held at a gate, which is how a slow disk or a busy writer
 * thread looks from here.
 */
import { afterEach, expect, test } from 'vitest';
import { systemClock } from '../src/core/clock.js';
import type { ResponseStore } from '../src/core/response-store.js';
import type { Store } from '../src/core/store.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { ResponseRecords } from '../src/responses/response-records.js';
import { responseRecord } from './support/response-record.js';

let store: Store | undefined;
afterEach(() => store?.close());

/** Records over a real store whose writes wait until `open` is called (`fail` makes them fail instead). */
async function heldRecords(): Promise<{ records: ResponseRecords; open: () => void; fail: () => void }> {
  store = await openSqliteStore(':memory:');
  const real = store.responses;
  let release: (fails: boolean) => void = () => undefined;
  const gate = new Promise<boolean>((resolve) => (release = resolve));
  const held = new Proxy(real, {
    get(target, property) {
      if (property === 'putResponse')
        return async (...write: Parameters<ResponseStore['putResponse']>) => {
          if (await gate) throw new Error('disk full');
          return target.putResponse(...write);
        };
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...values: unknown[]) => unknown).bind(target) : value;
    },
  });
  const records = new ResponseRecords(held, { retentionDays: 30, tenantStorageBytes: 1 << 20 }, systemClock, true);
  return { records, open: () => release(false), fail: () => release(true) };
}

/** Whether `promise` has settled after the event loop has had a turn. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  return settled;
}

test('retrieve, input items, a continuation and delete of a response being written wait for the write, then find it', async () => {
  const { records, open } = await heldRecords();
  const saved = records.save(responseRecord('resp_a'));
  const retrieved = records.get('acme', 'resp_a');
  const items = records.inputItems('acme', 'resp_a', { limit: 20, order: 'asc' });
  const conversation = records.conversation('acme', 'resp_a');
  expect(await settledYet(retrieved)).toBe(false);
  open();
  await saved;
  expect(await retrieved).toMatchObject({ id: 'resp_a' });
  expect((await items)?.map((item) => item.id)).toEqual(['in_resp_a']);
  expect((await conversation).map((item) => item.id)).toEqual(['in_resp_a', 'msg_resp_a']);
  expect(await records.delete('acme', 'resp_a')).toBe(true);
  expect(await records.get('acme', 'resp_a')).toBeUndefined();
});

test('a delete sent while the write is in flight deletes the written response, not nothing', async () => {
  const { records, open } = await heldRecords();
  const saved = records.save(responseRecord('resp_b'));
  const deleted = records.delete('acme', 'resp_b');
  open();
  await saved;
  expect(await deleted).toBe(true);
  expect(await records.get('acme', 'resp_b')).toBeUndefined();
});

test('a write that fails: the save rejects and the waiting reads find nothing (a 404, not a hang)', async () => {
  const { records, fail } = await heldRecords();
  const saved = records.save(responseRecord('resp_c'));
  const retrieved = records.get('acme', 'resp_c');
  fail();
  await expect(saved).rejects.toThrow('disk full');
  expect(await retrieved).toBeUndefined();
  await expect(records.conversation('acme', 'resp_c')).rejects.toMatchObject({ param: 'previous_response_id' });
});

test('another tenant waiting on the write still does not see the response', async () => {
  const { records, open } = await heldRecords();
  const saved = records.save(responseRecord('resp_d'));
  const theirs = records.get('other', 'resp_d');
  open();
  await saved;
  expect(await theirs).toBeUndefined();
});
