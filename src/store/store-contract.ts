/**
 * The Store contract test: one suite, run against every implementation (SQLite now, PostgreSQL
 * with the tenancy work), so they cannot drift apart.
 */
import { describe, expect, test } from 'vitest';
import type { RequestLogEntry, Store } from '../core/store.js';
import { runAlertStoreContract } from './alert-store-contract.js';
import { runAppStoreContract } from './app-store-contract.js';
import { runBatchStoreContract } from './batch-store-contract.js';
import { runDeviceStoreContract } from './device-store-contract.js';
import { runKnowledgeStoreContract, runVectorStoreContract } from './knowledge-store-contract.js';
import { runPolicyStateStoreContract } from './policy-state-store-contract.js';
import { runPoolStoreContract } from './pool-store-contract.js';
import { runRequestLogContract } from './request-log-contract.js';
import { runResponseStoreContract } from './response-store-contract.js';
import { runTenancyStoreContract } from './tenancy-store-contract.js';

/** A valid request-log row; tests override what they care about. */
export function requestLogEntry(overrides: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    id: `req-${Math.random().toString(36).slice(2)}`,
    createdAt: 1_700_000_000_000,
    kind: 'chat',
    model: 'm',
    httpStatus: 200,
    status: 'ok',
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 2,
    ttftMs: 12.5,
    durationMs: 40.25,
    finishReason: 'stop',
    stream: true,
    errorCode: null,
    servedBy: 'm#0',
    route: null,
    usageEstimated: false,
    tenantId: 'default',
    keyId: null,
    deployment: null,
    worker: null,
    deviceClass: null,
    computeSeconds: 0,
    costNanoUsd: 0,
    requestedModel: 'm',
    parentId: null,
    appId: null,
    appVersion: null,
    batchId: null,
    ...overrides,
  };
}

/**
 * Registers the contract suite for one implementation. `open` returns a fresh, empty store;
 * `reopen` opens another store on the database the last `open` made (to read what a closed one wrote).
 */
export function runStoreContract(name: string, open: () => Promise<Store>, reopen: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    /** Records `entry` in a fresh store and expects it back exactly after a flush. */
    async function expectReadsBack(entry: RequestLogEntry): Promise<void> {
      const store = await open();
      store.recordRequest(entry);
      await store.flush();
      expect(await store.listRequests()).toEqual([entry]);
      await store.close();
    }

    test('a recorded row reads back exactly after flush', async () => {
      await expectReadsBack(requestLogEntry({ ttftMs: null, finishReason: null, errorCode: 'queue_full', status: 'error', httpStatus: 429, stream: false }));
    });

    test('every field reads back as written, each set to its own value (no two columns can swap unnoticed)', async () => {
      await expectReadsBack({
        id: 'every-field',
        createdAt: 1_700_000_000_123,
        kind: 'completion',
        model: 'model-x',
        httpStatus: 502,
        status: 'cancelled',
        promptTokens: 11,
        completionTokens: 13,
        cachedTokens: 7,
        ttftMs: 3.5,
        durationMs: 9.75,
        finishReason: 'length',
        stream: true,
        errorCode: 'upstream_error',
        servedBy: 'replica-y',
        route: 'model-x@replica-z (upstream_timeout), model-x@replica-y',
        usageEstimated: true,
        tenantId: 'tenant-q',
        keyId: 'key_r',
        deployment: 'deployment-s',
        worker: 'worker-t',
        deviceClass: 'cuda',
        computeSeconds: 1.25,
        costNanoUsd: 4_321,
        requestedModel: 'alias-u',
        parentId: 'chatcmpl-parent-v',
        appId: 'app-w',
        appVersion: '7',
        batchId: 'batch_x',
      });
    });

    test('a row the database refuses costs only itself: the rest of its batch is kept', async () => {
      const store = await open();
      const refusals: unknown[] = [];
      const originalError = console.error;
      console.error = (...args: unknown[]) => refusals.push(args.join(' '));
      try {
        store.recordRequest(requestLogEntry({ id: 'before', createdAt: 1 }));
        // NaN is written as null, which the NOT NULL duration column refuses.
        store.recordRequest(requestLogEntry({ id: 'refused', createdAt: 2, durationMs: Number.NaN }));
        store.recordRequest(requestLogEntry({ id: 'nul', createdAt: 3, model: 'a\u0000b' }));
        store.recordRequest(requestLogEntry({ id: 'after', createdAt: 4 }));
        await store.flush();
      } finally {
        console.error = originalError;
      }
      const rows = await store.listRequests();
      expect(rows.map((row) => row.id)).toEqual(['after', 'nul', 'before']);
      // PostgreSQL text cannot hold a NUL character: it is dropped there, kept where it can be.
      expect(['a\u0000b', 'ab']).toContain(rows[1]!.model);
      expect(refusals).toEqual([expect.stringContaining('1 of 4 rows refused')]);
      await store.close();
    });

    test('the route of retries and fallbacks, and estimated usage, read back', async () => {
      const store = await open();
      const entry = requestLogEntry({
        route: 'big@gpu-a (upstream_error), big@gpu-b (upstream_timeout), small@gpu-c',
        servedBy: 'gpu-c',
        usageEstimated: true,
      });
      store.recordRequest(entry);
      store.recordRequest(requestLogEntry({ id: 'plain', createdAt: entry.createdAt + 1 }));
      await store.flush();
      const [plain, routed] = await store.listRequests();
      expect(routed).toEqual(entry);
      expect(plain).toMatchObject({ id: 'plain', route: null, usageEstimated: false });
      await store.close();
    });

    test('rows come back newest first, filtered by model and time', async () => {
      const store = await open();
      for (let index = 0; index < 5; index += 1)
        store.recordRequest(requestLogEntry({ id: `r${index}`, createdAt: 1000 + index, model: index % 2 ? 'a' : 'b' }));
      await store.flush();
      expect((await store.listRequests()).map((row) => row.id)).toEqual(['r4', 'r3', 'r2', 'r1', 'r0']);
      expect((await store.listRequests({ model: 'a' })).map((row) => row.id)).toEqual(['r3', 'r1']);
      expect((await store.listRequests({ since: 1001, until: 1003 })).map((row) => row.id)).toEqual(['r2', 'r1']);
      expect(await store.listRequests({ limit: 2 })).toHaveLength(2);
      await store.close();
    });

    test('a large burst is written in batches, none lost, none duplicated', async () => {
      const store = await open();
      for (let index = 0; index < 1000; index += 1) store.recordRequest(requestLogEntry({ id: `b${index}` }));
      store.recordRequest(requestLogEntry({ id: 'b0' }));
      await store.flush();
      expect(await store.listRequests({ limit: 5000 })).toHaveLength(1000);
      await store.close();
    });

    test('close flushes what is queued, and is idempotent', async () => {
      const store = await open();
      for (let index = 0; index < 250; index += 1) store.recordRequest(requestLogEntry({ id: `last-${index}` }));
      await store.close();
      await store.close();
      // Nothing was flushed by hand: every queued row is there for the next process.
      const again = await reopen();
      try {
        expect((await again.listRequests({ limit: 1000 })).map((row) => row.id).sort()).toEqual(
          Array.from({ length: 250 }, (_, index) => `last-${index}`).sort(),
        );
      } finally {
        await again.close();
      }
    });

    runRequestLogContract(open);
    runDeviceStoreContract(open);
    runPolicyStateStoreContract(open);
    runTenancyStoreContract(open);
    runPoolStoreContract(open);
    runKnowledgeStoreContract(open);
    runVectorStoreContract(open);
    runResponseStoreContract(open);
    runBatchStoreContract(open);
    runAppStoreContract(open);
    runAlertStoreContract(open);
  });
}
