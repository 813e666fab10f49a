/**
 * The stored-responses quota (`responses.tenantStorageBytes`) as a running figure (decision 0021):
 * a tenant's bytes are summed by the store once, on its first stored response here, then kept by
 * this process's writes and deletes, and summed again in the background. A request never waits
 * for that sum again, which over a tenant's many rows cost the request thread milliseconds every
 * 5 s. Real SQLite file stores (the sum runs on the ledger thread's connection); the store's sum is
 * held at a gate where a test shows that a check does not wait for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import type { ResponseStore } from '../src/core/response-store.js';
import type { Store } from '../src/core/store.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { ResponseRecords } from '../src/responses/response-records.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-responses-quota-'));
let counter = 0;
let store: Store | undefined;
afterEach(() => store?.close());
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const day = 86_400_000;

/** Records over a real SQLite file store with a clock the test moves; `hold` makes the store's sums wait until `release`. */
async function quotaRecords(limit: number) {
  store = await openSqliteStore(join(folder, `quota-${counter++}.db`));
  const real = store.responses;
  let now = Date.parse('2026-12-07T12:00:00Z');
  const clock: Clock = { now: () => now, monotonic: () => now };
  const sums: { taken: number; gate: Promise<void>; release: () => void } = { taken: 0, gate: Promise.resolve(), release: () => undefined };
  const counted = new Proxy(real, {
    get(target, property) {
      if (property === 'tenantBytes')
        return async (...query: Parameters<ResponseStore['tenantBytes']>) => {
          sums.taken += 1;
          await sums.gate;
          return target.tenantBytes(...query);
        };
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...values: unknown[]) => unknown).bind(target) : value;
    },
  });
  const records = new ResponseRecords(counted, { retentionDays: 1, tenantStorageBytes: limit }, clock, true);
  return {
    records,
    real,
    sums,
    advance: (ms: number) => (now += ms),
    hold: () => {
      sums.gate = new Promise<void>((resolve) => (sums.release = resolve));
    },
    record: (id: string, text = 'x'.repeat(200)) => ({
      id,
      tenantId: 'acme',
      keyId: null,
      createdAt: now,
      status: 'completed',
      previousResponseId: null,
      body: { id, object: 'response', output: [{ id: `msg_${id}`, type: 'message', content: [{ type: 'output_text', text }] }] },
      inputItems: [{ id: `in_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
    }),
  };
}

/** Whether `promise` has settled after the event loop has had a turn. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 30));
  return settled;
}

test('the quota refuses at the limit, and a delete makes room at once, without asking the store', async () => {
  const { records, sums, hold, record } = await quotaRecords(1_000);
  // Each of these takes ~420 bytes: the third reaches the limit.
  for (const id of ['resp_1', 'resp_2', 'resp_3']) {
    await records.checkQuota('acme');
    await records.save(record(id));
  }
  await expect(records.checkQuota('acme')).rejects.toMatchObject({ status: 413, code: 'storage_quota_exceeded', param: 'store' });
  expect(sums.taken).toBe(1);
  // The store's sum is held from here: the check that follows the delete reads the running figure.
  hold();
  expect(await records.delete('acme', 'resp_2')).toBe(true);
  const check = records.checkQuota('acme');
  expect(await settledYet(check)).toBe(true);
  await expect(check).resolves.toBeUndefined();
  expect(sums.taken).toBe(1);
  // Another tenant's figure is its own.
  sums.release();
  await expect(records.checkQuota('other')).resolves.toBeUndefined();
});

test('a later check never waits for the sum; the background sum adds what this process cannot see, and drops what expired', async () => {
  const { records, real, sums, hold, advance, record } = await quotaRecords(1_000);
  await records.checkQuota('acme');
  await records.save(record('resp_1'));
  // Another control plane's writes reach the store, not this process's figure.
  await real.putResponse({ ...record('resp_elsewhere_1'), expiresAt: Date.parse('2026-12-08T12:00:00Z') });
  await real.putResponse({ ...record('resp_elsewhere_2'), expiresAt: Date.parse('2026-12-08T12:00:00Z') });
  hold();
  advance(31_000);
  // Past the re-sum interval: the check starts a sum and answers from the running figure while it runs.
  const check = records.checkQuota('acme');
  expect(await settledYet(check)).toBe(true);
  await expect(check).resolves.toBeUndefined();
  expect(sums.taken).toBe(2);
  sums.release();
  await expect
    .poll(() =>
      records.checkQuota('acme').then(
        () => 'room',
        () => 'full',
      ),
    )
    .toBe('full');
  // A day later all of them are past their retention: the sweep removes them and the next sum (in the background) frees the quota.
  advance(day);
  expect(await records.sweep()).toBe(3);
  await expect
    .poll(() =>
      records.checkQuota('acme').then(
        () => 'room',
        () => 'full',
      ),
    )
    .toBe('room');
  expect(sums.taken).toBe(3);
});
