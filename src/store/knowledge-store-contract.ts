/**
 * The knowledge section of the Store contract test: registered from `runStoreContract`, so it
 * runs on every Store implementation.
 */
import { describe, expect, test } from 'vitest';
import type { FileRecord } from '../core/knowledge-store.js';
import type { Store } from '../core/store.js';

/** A valid file row; tests override what they care about. */
export function fileRecord(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    id: 'file-1',
    tenantId: 'acme',
    filename: 'notes.md',
    purpose: 'assistants',
    bytes: 100,
    sha256: 'a'.repeat(64),
    createdAt: 1_000,
    expiresAt: null,
    ...overrides,
  };
}

export function runKnowledgeStoreContract(open: () => Promise<Store>): void {
  describe('knowledge: files', () => {
    test('a file reads back exactly, for its tenant only', async () => {
      const store = await open();
      const file = fileRecord({
        id: 'file-x',
        filename: 'résumé.pdf',
        purpose: 'user_data',
        bytes: 5_000_000_000,
        createdAt: 1_700_000_000_123,
        expiresAt: 1_700_000_360_000,
      });
      await store.knowledge.putFile(file);
      expect(await store.knowledge.getFile('acme', 'file-x', 0)).toEqual(file);
      expect(await store.knowledge.getFile('other', 'file-x', 0)).toBeUndefined();
      await store.close();
    });

    test('an expired file is gone for reads and lists, and is listed for the sweep', async () => {
      const store = await open();
      await store.knowledge.putFile(fileRecord({ id: 'file-old', expiresAt: 5_000 }));
      await store.knowledge.putFile(fileRecord({ id: 'file-kept', expiresAt: null }));
      expect(await store.knowledge.getFile('acme', 'file-old', 4_999)).toBeDefined();
      expect(await store.knowledge.getFile('acme', 'file-old', 5_000)).toBeUndefined();
      expect((await store.knowledge.listFiles('acme', { limit: 10, order: 'asc', now: 6_000 })).map((file) => file.id)).toEqual(['file-kept']);
      expect((await store.knowledge.expiredFiles(6_000, 10)).map((file) => file.id)).toEqual(['file-old']);
      expect(await store.knowledge.expiredFiles(4_000, 10)).toEqual([]);
      await store.close();
    });

    test('lists page by id in either order, filter by purpose and never show another tenant', async () => {
      const store = await open();
      for (const id of ['file-a', 'file-b', 'file-c', 'file-d'])
        await store.knowledge.putFile(fileRecord({ id, purpose: id === 'file-c' ? 'batch' : 'assistants' }));
      await store.knowledge.putFile(fileRecord({ id: 'file-e', tenantId: 'other' }));
      const ids = async (query: Partial<Parameters<Store['knowledge']['listFiles']>[1]>) =>
        (await store.knowledge.listFiles('acme', { limit: 10, order: 'desc', now: 0, ...query })).map((file) => file.id);
      expect(await ids({})).toEqual(['file-d', 'file-c', 'file-b', 'file-a']);
      expect(await ids({ order: 'asc', limit: 2 })).toEqual(['file-a', 'file-b']);
      expect(await ids({ order: 'asc', after: 'file-b' })).toEqual(['file-c', 'file-d']);
      expect(await ids({ after: 'file-c' })).toEqual(['file-b', 'file-a']);
      expect(await ids({ purpose: 'batch' })).toEqual(['file-c']);
      await store.close();
    });

    test('delete returns the record once, for its tenant only; bytes and shared hashes are counted', async () => {
      const store = await open();
      await store.knowledge.putFile(fileRecord({ id: 'file-1', bytes: 10, sha256: 'b'.repeat(64) }));
      await store.knowledge.putFile(fileRecord({ id: 'file-2', bytes: 32, sha256: 'b'.repeat(64) }));
      await store.knowledge.putFile(fileRecord({ id: 'file-3', tenantId: 'other', bytes: 7, sha256: 'b'.repeat(64) }));
      expect(await store.knowledge.tenantBytes('acme')).toBe(42);
      expect(await store.knowledge.tenantBytes('nobody')).toBe(0);
      expect(await store.knowledge.countBySha256('b'.repeat(64))).toBe(3);
      expect(await store.knowledge.deleteFile('other', 'file-1')).toBeUndefined();
      expect((await store.knowledge.deleteFile('acme', 'file-1'))?.bytes).toBe(10);
      expect(await store.knowledge.deleteFile('acme', 'file-1')).toBeUndefined();
      expect(await store.knowledge.tenantBytes('acme')).toBe(32);
      expect(await store.knowledge.countBySha256('b'.repeat(64))).toBe(2);
      await store.close();
    });
  });
}
