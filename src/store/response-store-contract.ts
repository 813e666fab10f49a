/**
 * The responses section of the Store contract test: registered from `runStoreContract`, so it
 * runs on every Store implementation (SQLite and PostgreSQL).
 */
import { describe, expect, test } from 'vitest';
import type { NewResponse, StoredResponse } from '../core/response-store.js';
import type { Store } from '../core/store.js';

/** A valid new response; tests override what they care about. */
export function storedResponse(overrides: Partial<NewResponse> = {}): NewResponse {
  return {
    id: 'resp_1',
    tenantId: 'acme',
    keyId: 'key_1',
    createdAt: 1_000,
    expiresAt: 10_000,
    status: 'completed',
    previousResponseId: null,
    body: { id: 'resp_1', object: 'response', output: [{ type: 'message', content: [{ type: 'output_text', text: 'é ✓' }] }] },
    inputItems: [
      { id: 'msg_a', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'one' }] },
      { id: 'msg_b', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'two' }] },
      { id: 'msg_c', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'three' }] },
    ],
    ...overrides,
  };
}

export function runResponseStoreContract(open: () => Promise<Store>): void {
  describe('responses', () => {
    test('a response reads back exactly, with the bytes its JSON takes, for its tenant only, until it expires', async () => {
      const store = await open();
      const response = storedResponse({ previousResponseId: 'resp_0', keyId: null, createdAt: 1_700_000_000_123, expiresAt: 1_700_000_360_000 });
      const bytes = await store.responses.putResponse(response);
      // UTF-8 bytes, not characters: the body holds 'é ✓'.
      const json = [response.body, ...response.inputItems].map((value) => Buffer.byteLength(JSON.stringify(value)));
      expect(bytes).toBe(json.reduce((sum, size) => sum + size, 0));
      expect(await store.responses.getResponse('acme', 'resp_1', 1_700_000_000_200)).toEqual({ ...response, bytes } satisfies StoredResponse);
      expect(await store.responses.getResponse('other', 'resp_1', 1_700_000_000_200)).toBeUndefined();
      expect(await store.responses.getResponse('acme', 'resp_1', 1_700_000_360_000)).toBeUndefined();
      await store.close();
    });

    test('finish replaces status, body and size; a deleted response is not revived', async () => {
      const store = await open();
      await store.responses.putResponse(storedResponse({ status: 'in_progress', body: { status: 'in_progress' } }));
      expect(await store.responses.finishResponse('other', 'resp_1', { status: 'completed', body: {}, bytes: 1 })).toBe(false);
      expect(await store.responses.finishResponse('acme', 'resp_1', { status: 'incomplete', body: { status: 'incomplete' }, bytes: 500 })).toBe(true);
      expect(await store.responses.getResponse('acme', 'resp_1', 2_000)).toMatchObject({ status: 'incomplete', body: { status: 'incomplete' }, bytes: 500 });
      expect(await store.responses.deleteResponse('acme', 'resp_1')).toBe(500);
      expect(await store.responses.finishResponse('acme', 'resp_1', { status: 'completed', body: {}, bytes: 1 })).toBe(false);
      expect(await store.responses.getResponse('acme', 'resp_1', 2_000)).toBeUndefined();
      await store.close();
    });

    test('a write that fails leaves nothing of itself: a second response under a used id adds no items', async () => {
      const store = await open();
      await store.responses.putResponse(storedResponse());
      await expect(store.responses.putResponse(storedResponse({ body: { second: true }, inputItems: [{ id: 'msg_d', type: 'message' }] }))).rejects.toThrow();
      expect((await store.responses.listInputItems('acme', 'resp_1', { limit: 20, order: 'asc' }, 2_000))?.map((item) => item.id)).toEqual([
        'msg_a',
        'msg_b',
        'msg_c',
      ]);
      expect((await store.responses.getResponse('acme', 'resp_1', 2_000))?.body).toEqual(storedResponse().body);
      await store.close();
    });

    test('responses written at once are each all or nothing: one under a used id fails alone, the others are kept', async () => {
      const store = await open();
      await store.responses.putResponse(storedResponse());
      // Started in one turn of the event loop, as responses finishing together are (SQLite commits them as one batch).
      const writes = await Promise.allSettled([
        store.responses.putResponse(storedResponse({ id: 'resp_2', inputItems: [{ id: 'msg_2', type: 'message' }] })),
        store.responses.putResponse(storedResponse({ body: { second: true }, inputItems: [{ id: 'msg_d', type: 'message' }] })),
        store.responses.putResponse(storedResponse({ id: 'resp_3', inputItems: [{ id: 'msg_3', type: 'message' }] })),
      ]);
      expect(writes.map((write) => write.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await store.responses.getResponse('acme', 'resp_1', 2_000))?.inputItems.map((item) => item.id)).toEqual(['msg_a', 'msg_b', 'msg_c']);
      expect((await store.responses.getResponse('acme', 'resp_2', 2_000))?.inputItems).toEqual([{ id: 'msg_2', type: 'message' }]);
      expect((await store.responses.getResponse('acme', 'resp_3', 2_000))?.inputItems).toEqual([{ id: 'msg_3', type: 'message' }]);
      await store.close();
    });

    test('input items page by cursor in either order, for the tenant only', async () => {
      const store = await open();
      await store.responses.putResponse(storedResponse());
      const ids = async (query: { after?: string; limit?: number; order?: 'asc' | 'desc' }, tenant = 'acme') =>
        (await store.responses.listInputItems(tenant, 'resp_1', { limit: 20, order: 'desc', ...query }, 2_000))?.map((item) => item.id);
      expect(await ids({})).toEqual(['msg_c', 'msg_b', 'msg_a']);
      expect(await ids({ order: 'asc', limit: 2 })).toEqual(['msg_a', 'msg_b']);
      expect(await ids({ order: 'asc', after: 'msg_a' })).toEqual(['msg_b', 'msg_c']);
      expect(await ids({ after: 'msg_c' })).toEqual(['msg_b', 'msg_a']);
      expect(await ids({}, 'other')).toBeUndefined();
      await store.close();
    });

    test('delete cascades to the input items, once, for the tenant only', async () => {
      const store = await open();
      const bytes = await store.responses.putResponse(storedResponse());
      expect(await store.responses.deleteResponse('other', 'resp_1')).toBeUndefined();
      // The bytes it took: what the tenant's quota frees.
      expect(await store.responses.deleteResponse('acme', 'resp_1')).toBe(bytes);
      expect(await store.responses.deleteResponse('acme', 'resp_1')).toBeUndefined();
      expect(await store.responses.listInputItems('acme', 'resp_1', { limit: 20, order: 'asc' }, 2_000)).toBeUndefined();
      // A new response under the same id starts with its own items only.
      await store.responses.putResponse(storedResponse({ inputItems: [{ id: 'msg_z', type: 'message' }] }));
      expect((await store.responses.listInputItems('acme', 'resp_1', { limit: 20, order: 'asc' }, 2_000))?.map((item) => item.id)).toEqual(['msg_z']);
      await store.close();
    });

    test('a tenant’s bytes count unexpired responses; the sweep removes expired ones with their items', async () => {
      const store = await open();
      const old = await store.responses.putResponse(storedResponse({ id: 'resp_old', expiresAt: 5_000, inputItems: [] }));
      const kept = await store.responses.putResponse(storedResponse({ id: 'resp_new', expiresAt: 50_000 }));
      await store.responses.putResponse(storedResponse({ id: 'resp_theirs', tenantId: 'other', expiresAt: 50_000 }));
      expect(old).toBeLessThan(kept);
      expect(await store.responses.tenantBytes('acme', 4_000)).toBe(old + kept);
      expect(await store.responses.tenantBytes('acme', 6_000)).toBe(kept);
      expect(await store.responses.tenantBytes('nobody', 0)).toBe(0);
      expect(await store.responses.deleteExpired(6_000, 10)).toBe(1);
      expect(await store.responses.deleteExpired(6_000, 10)).toBe(0);
      expect(await store.responses.getResponse('acme', 'resp_old', 0)).toBeUndefined();
      expect(await store.responses.listInputItems('acme', 'resp_old', { limit: 20, order: 'asc' }, 0)).toBeUndefined();
      expect(await store.responses.getResponse('acme', 'resp_new', 6_000)).toBeDefined();
      await store.close();
    });
  });
}
