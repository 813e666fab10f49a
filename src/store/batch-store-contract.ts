/**
 * The batch section of the Store contract test: registered from `runStoreContract`, so it runs
 * on every Store implementation (SQLite and PostgreSQL).
 */
import { describe, expect, test } from 'vitest';
import type { BatchRecord, BatchResult } from '../core/batch-store.js';
import type { Store } from '../core/store.js';
import { requestLogEntry } from './store-contract.js';

/** A valid batch row; tests override what they care about. */
export function batchRecord(overrides: Partial<BatchRecord> = {}): BatchRecord {
  return {
    id: 'batch_1',
    tenantId: 'acme',
    principal: { tenantId: 'acme', keyId: 'key_1', scopes: { inference: true, admin: false, models: ['m'], devices: [] }, local: false },
    endpoint: '/v1/chat/completions',
    inputFileId: 'file-in',
    completionWindow: '24h',
    status: 'validating',
    outputFileId: null,
    errorFileId: null,
    errors: null,
    metadata: null,
    counts: { total: 0, completed: 0, failed: 0 },
    usage: { inputTokens: 0, cachedTokens: 0, outputTokens: 0 },
    enqueuedTokens: 0,
    owner: null,
    leaseUntil: null,
    createdAt: 1_000,
    inProgressAt: null,
    expiresAt: 86_401_000,
    finalizingAt: null,
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    cancellingAt: null,
    cancelledAt: null,
    ...overrides,
  };
}

function result(index: number, ok: boolean, tokens = 1): BatchResult {
  return {
    batchId: 'batch_1',
    index,
    customId: `c${index}`,
    requestId: `batch_req_${index}`,
    ok,
    line: JSON.stringify({ custom_id: `c${index}` }),
    usage: { inputTokens: tokens, cachedTokens: 0, outputTokens: 2 * tokens },
  };
}

export function runBatchStoreContract(open: () => Promise<Store>): void {
  describe('batches', () => {
    test('a batch reads back exactly, for its tenant only, and lists newest first', async () => {
      const store = await open();
      const batch = batchRecord({
        metadata: { project: 'abstracts' },
        errors: [{ code: 'invalid_json_line', message: 'bad', param: null, line: 3 }],
        enqueuedTokens: 5_000_000_000,
        owner: 'p1',
        leaseUntil: 1_700_000_000_000,
      });
      await store.batches.putBatch(batch);
      await store.batches.putBatch(batchRecord({ id: 'batch_2' }));
      await store.batches.putBatch(batchRecord({ id: 'batch_3', tenantId: 'other' }));
      expect(await store.batches.getBatch('acme', 'batch_1')).toEqual(batch);
      expect(await store.batches.getBatch('other', 'batch_1')).toBeUndefined();
      expect((await store.batches.listBatches('acme', { limit: 10 })).map((row) => row.id)).toEqual(['batch_2', 'batch_1']);
      expect((await store.batches.listBatches('acme', { limit: 10, after: 'batch_2' })).map((row) => row.id)).toEqual(['batch_1']);
      await store.close();
    });

    test('a status change applies only from the statuses named', async () => {
      const store = await open();
      await store.batches.putBatch(batchRecord());
      expect(await store.batches.updateBatch('batch_1', { status: 'cancelling', cancellingAt: 5 }, ['in_progress'])).toBe(false);
      expect(
        await store.batches.updateBatch('batch_1', { status: 'in_progress', inProgressAt: 4, counts: { total: 3, completed: 0, failed: 0 } }, ['validating']),
      ).toBe(true);
      expect(await store.batches.updateBatch('batch_1', { status: 'cancelling', cancellingAt: 5 }, ['in_progress'])).toBe(true);
      expect(await store.batches.getBatch('acme', 'batch_1')).toMatchObject({ status: 'cancelling', inProgressAt: 4, cancellingAt: 5, counts: { total: 3 } });
      await store.close();
    });

    test('results are saved once per line and counted once, whatever is saved again', async () => {
      const store = await open();
      await store.batches.putBatch(batchRecord({ status: 'in_progress' }));
      expect(await store.batches.saveResults('batch_1', [result(0, true, 10), result(2, false, 0)])).toBe(2);
      // Line 0 again (computed twice after a crash) with other usage: the first result stays.
      expect(await store.batches.saveResults('batch_1', [result(0, true, 99), result(1, true, 5), result(1, true, 5)])).toBe(1);
      expect(await store.batches.resultIndexes('batch_1')).toEqual([0, 1, 2]);
      expect((await store.batches.readResults('batch_1', true, -1, 10)).map((row) => [row.index, row.usage.inputTokens])).toEqual([
        [0, 10],
        [1, 5],
      ]);
      expect((await store.batches.readResults('batch_1', true, 0, 10)).map((row) => row.index)).toEqual([1]);
      expect((await store.batches.readResults('batch_1', false, -1, 10)).map((row) => row.customId)).toEqual(['c2']);
      expect(await store.batches.getBatch('acme', 'batch_1')).toMatchObject({
        counts: { total: 0, completed: 2, failed: 1 },
        usage: { inputTokens: 15, cachedTokens: 0, outputTokens: 30 },
      });
      await store.close();
    });

    test('a claim takes free, own and lapsed batches that need work, and not another live owner’s', async () => {
      const store = await open();
      await store.batches.putBatch(batchRecord({ id: 'batch_a', status: 'in_progress', createdAt: 1 }));
      await store.batches.putBatch(batchRecord({ id: 'batch_b', status: 'validating', owner: 'p2', leaseUntil: 500, createdAt: 2 }));
      await store.batches.putBatch(batchRecord({ id: 'batch_c', status: 'cancelling', owner: 'p2', leaseUntil: 50, createdAt: 3 }));
      await store.batches.putBatch(batchRecord({ id: 'batch_d', status: 'completed', createdAt: 4 }));
      await store.batches.putBatch(batchRecord({ id: 'batch_e', status: 'finalizing', owner: 'p1', leaseUntil: 500, createdAt: 5 }));
      const claimed = await store.batches.claimBatches('p1', 100, 1_000, 10);
      expect(claimed.map((batch) => [batch.id, batch.owner, batch.leaseUntil])).toEqual([
        ['batch_a', 'p1', 1_000],
        ['batch_c', 'p1', 1_000],
        ['batch_e', 'p1', 1_000],
      ]);
      expect((await store.batches.claimBatches('p2', 100, 2_000, 10)).map((batch) => batch.id)).toEqual(['batch_b']);
      await store.close();
    });

    test('the ledger rows of a batch since a time are its lines’ tries', async () => {
      const store = await open();
      store.recordRequest(requestLogEntry({ id: 'batch_req_1_0', batchId: 'batch_1', createdAt: 2_000 }));
      store.recordRequest(requestLogEntry({ id: 'batch_req_1_1', batchId: 'batch_1', createdAt: 2_000, status: 'cancelled' }));
      store.recordRequest(requestLogEntry({ id: 'batch_req_1_2', batchId: 'batch_1', createdAt: 500 }));
      store.recordRequest(requestLogEntry({ id: 'batch_req_2_0', batchId: 'batch_2', createdAt: 2_000 }));
      await store.flush();
      const attempts = await store.batches.ledgerAttempts('batch_1', 1_000);
      expect(attempts.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
        { id: 'batch_req_1_0', status: 'ok' },
        { id: 'batch_req_1_1', status: 'cancelled' },
      ]);
      await store.close();
    });

    test('enqueued tokens sum the key’s batches that have not ended', async () => {
      const store = await open();
      await store.batches.putBatch(batchRecord({ id: 'batch_a', status: 'in_progress', enqueuedTokens: 100 }));
      await store.batches.putBatch(batchRecord({ id: 'batch_b', status: 'validating', enqueuedTokens: 20 }));
      await store.batches.putBatch(batchRecord({ id: 'batch_c', status: 'completed', enqueuedTokens: 1_000 }));
      const otherKey = batchRecord().principal;
      await store.batches.putBatch(batchRecord({ id: 'batch_d', status: 'in_progress', enqueuedTokens: 7, principal: { ...otherKey, keyId: 'key_2' } }));
      expect(await store.batches.enqueuedTokens('acme', 'key_1')).toBe(120);
      expect(await store.batches.enqueuedTokens('acme', 'key_2')).toBe(7);
      expect(await store.batches.enqueuedTokens('acme', null)).toBe(0);
      await store.close();
    });
  });
}
