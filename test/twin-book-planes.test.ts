/**
 * Two control planes' twin books on one real store (SQLite here; the store contract runs the same
 * writes on PostgreSQL). Each sees the device's messages and writes the same twin and history: one
 * row per change and per event is stored, and a book that missed a message takes the stored twin
 * at its next flush, so it numbers the next change as the other does (decision 0023).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { Store } from '../src/core/store.js';
import { TwinBook } from '../src/devices/twin-book.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-twin-books-'));
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  rmSync(folder, { recursive: true, force: true });
});

async function twoBooks(name: string): Promise<{ store: Store; a: TwinBook; b: TwinBook }> {
  const store = await openSqliteStore(join(folder, `${name}.db`));
  stores.push(store);
  // One time for both, so twins compare whole (control planes' clocks differ by milliseconds).
  const clock = { now: () => 1_000 };
  // No flush by timer: each test flushes where two control planes would have.
  return { store, a: new TwinBook(store.devices, clock, 3_600_000), b: new TwinBook(store.devices, clock, 3_600_000) };
}

const rows = async (store: Store): Promise<Array<[number, string, number, unknown]>> =>
  (await store.devices.listTwinHistory({ tenantId: 't', deviceId: 'lamp' }))
    .reverse()
    .map((entry) => [entry.version, entry.kind, entry.ordinal ?? 0, entry.data]);

test('the same messages seen by two books are stored once, events by their place at a version', async () => {
  const { store, a, b } = await twoBooks('same');
  for (const book of [a, b]) {
    book.connection('t', 'lamp', 'online');
    book.report('t', 'lamp', { on: true });
    book.event('t', 'lamp', 'pressed', {});
    book.event('t', 'lamp', 'pressed', {});
    book.desireOnce('cmd_1', 't', 'lamp', { on: false });
    book.desireOnce('cmd_1', 't', 'lamp', { on: false });
  }
  await a.flush();
  await b.flush();
  expect(await rows(store)).toEqual([
    [1, 'connection', 0, { connection: 'online' }],
    [2, 'reported', 0, { on: true }],
    [2, 'event', 0, { name: 'pressed', data: {} }],
    [2, 'event', 1, { name: 'pressed', data: {} }],
    [3, 'desired', 0, { on: false }],
  ]);
  expect(b.get('t', 'lamp')).toEqual(a.get('t', 'lamp'));
});

test('a book that missed a message takes the stored twin and numbers the next change as the other', async () => {
  const { store, a, b } = await twoBooks('missed');
  for (const book of [a, b]) book.report('t', 'lamp', { on: true, brightness: 10 });
  // b's bridge was away for this one.
  a.report('t', 'lamp', { on: false });
  for (const book of [a, b]) book.report('t', 'lamp', { brightness: 20 });
  expect([a.get('t', 'lamp').version, b.get('t', 'lamp').version]).toEqual([3, 2]);
  await a.flush();
  await b.flush();
  // b's version 2 is not what the store holds at 2, nor newer than its 3: b takes the stored twin.
  expect(b.get('t', 'lamp')).toMatchObject({ version: 3, reported: { on: false, brightness: 20 } });
  for (const book of [a, b]) book.report('t', 'lamp', { brightness: 30 });
  await b.flush();
  await a.flush();
  expect(b.get('t', 'lamp')).toEqual(a.get('t', 'lamp'));
  expect((await store.devices.listTwins('t'))[0]).toMatchObject({ version: 4, reported: { on: false, brightness: 30 } });
  expect(await rows(store)).toEqual([
    [1, 'reported', 0, { on: true, brightness: 10 }],
    [2, 'reported', 0, { on: false }],
    [3, 'reported', 0, { brightness: 20 }],
    [4, 'reported', 0, { brightness: 30 }],
  ]);
});
