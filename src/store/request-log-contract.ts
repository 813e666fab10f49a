/** The request-log view's reads (`searchRequests`, `getRequest`), run by the Store contract on every implementation. */
import { describe, expect, test } from 'vitest';
import type { RequestLogEntry, RequestLogSearch, Store } from '../core/store.js';
import { requestLogEntry } from './store-contract.js';

/** 24 rows over two tenants, three keys, two models, every status and an app, with pairs of rows sharing a millisecond. */
function ledgerRows(): RequestLogEntry[] {
  const statuses = ['ok', 'ok', 'error', 'refused', 'cancelled'] as const;
  return Array.from({ length: 24 }, (_, index) =>
    requestLogEntry({
      id: `r${String(index).padStart(2, '0')}`,
      createdAt: 1_000 + Math.floor(index / 2),
      tenantId: index % 3 === 0 ? 'beta' : 'acme',
      keyId: index % 3 === 0 ? 'key_b' : index % 2 ? 'key_a1' : 'key_a2',
      model: index % 4 === 0 ? 'big' : 'small',
      status: statuses[index % statuses.length]!,
      appId: index % 5 === 1 ? 'tutor' : null,
    }),
  );
}

/** What a search must answer, computed here: the filter, newest first by (created_at, id). */
function expected(rows: readonly RequestLogEntry[], search: Omit<RequestLogSearch, 'limit' | 'after'>): string[] {
  return rows
    .filter(
      (row) =>
        (search.tenantId === undefined || row.tenantId === search.tenantId) &&
        (search.keyIds === undefined || (row.keyId !== null && search.keyIds.includes(row.keyId))) &&
        (search.model === undefined || row.model === search.model) &&
        (search.status === undefined || row.status === search.status) &&
        (search.appId === undefined || row.appId === search.appId) &&
        (search.since === undefined || row.createdAt >= search.since) &&
        (search.until === undefined || row.createdAt < search.until),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
    .map((row) => row.id);
}

/** Every page of a search, following the cursor of each page's last row. */
async function allPages(store: Store, search: Omit<RequestLogSearch, 'limit' | 'after'>, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: RequestLogSearch['after'];
  for (let page = 0; page < 50; page += 1) {
    const rows = await store.searchRequests({ ...search, limit, ...(after ? { after } : {}) });
    ids.push(...rows.map((row) => row.id));
    if (rows.length < limit) return ids;
    const last = rows.at(-1)!;
    after = { createdAt: last.createdAt, id: last.id };
  }
  throw new Error('the pages never ended');
}

export function runRequestLogContract(open: () => Promise<Store>): void {
  describe('request log view', () => {
    test('each filter pages newest first by (created_at, id), rows sharing a millisecond neither lost nor repeated', async () => {
      const store = await open();
      const rows = ledgerRows();
      for (const row of rows) store.recordRequest(row);
      await store.flush();
      const searches: Array<Omit<RequestLogSearch, 'limit' | 'after'>> = [
        {},
        { tenantId: 'acme' },
        { keyIds: ['key_a1'] },
        { keyIds: ['key_a1', 'key_b'] },
        { keyIds: [] },
        { model: 'big' },
        { status: 'error' },
        { appId: 'tutor' },
        { since: 1_003, until: 1_008 },
        { tenantId: 'acme', status: 'ok', model: 'small' },
      ];
      for (const search of searches) {
        const want = expected(rows, search);
        expect(await allPages(store, search, 3), JSON.stringify(search)).toEqual(want);
        expect(await allPages(store, search, 500), JSON.stringify(search)).toEqual(want);
      }
      expect((await store.searchRequests({ limit: 5 })).map((row) => row.id)).toEqual(['r23', 'r22', 'r21', 'r20', 'r19']);
      await store.close();
    });

    test('a row by its id reads back whole; an unknown id is undefined', async () => {
      const store = await open();
      const row = requestLogEntry({ id: 'chatcmpl-x', tenantId: 'acme', keyId: 'key_1', appId: 'tutor', appVersion: '3', ttftMs: 7.5, route: 'm@a' });
      store.recordRequest(row);
      await store.flush();
      expect(await store.getRequest('chatcmpl-x')).toEqual(row);
      expect(await store.getRequest('chatcmpl-none')).toBeUndefined();
      await store.close();
    });
  });
}
