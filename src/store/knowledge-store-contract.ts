/**
 * The knowledge section of the Store contract test: registered from `runStoreContract`, so it
 * runs on every Store implementation.
 */
import { describe, expect, test } from 'vitest';
import type { FileRecord } from '../core/knowledge-store.js';
import type { Store } from '../core/store.js';
import type { ChunkInput, VectorStoreFileRecord } from '../core/vector-store-store.js';
import { terms } from '../knowledge/lexical/tokenize.js';

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

/** Text of a few chunks: words repeat across them, so idf and lengths differ. */
const corpus = [
  'the running whale eats krill in the cold ocean',
  'krill swarm in the ocean and whales follow the krill',
  'volcanoes erupt lava; the lava cools into basalt',
  'a whale is a mammal, not a fish',
  'basalt is a volcanic rock',
];

/** BM25 as FTS5 computes it, by hand, as the reference both dialects must meet. */
function referenceBm25(documents: string[][], query: string[]): Map<number, number> {
  const average = documents.reduce((sum, terms) => sum + terms.length, 0) / documents.length;
  const scores = new Map<number, number>();
  for (const term of query) {
    const df = documents.filter((terms) => terms.includes(term)).length;
    if (df === 0) continue;
    const idf = Math.max(1e-6, Math.log((documents.length - df + 0.5) / (df + 0.5)));
    documents.forEach((terms, index) => {
      const tf = terms.filter((candidate) => candidate === term).length;
      if (tf > 0) scores.set(index, (scores.get(index) ?? 0) + (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * terms.length) / average)));
    });
  }
  return scores;
}

export function runVectorStoreContract(open: () => Promise<Store>): void {
  describe('knowledge: vector stores', () => {
    const storeRecord = (id: string, tenantId = 'acme') => ({
      id,
      tenantId,
      name: id,
      description: null,
      metadata: { team: 'x' },
      createdAt: 1_000,
      lastActiveAt: 1_000,
      expiresAfterDays: null,
    });
    const entry = (vectorStoreId: string, fileId: string, overrides: Partial<VectorStoreFileRecord> = {}): VectorStoreFileRecord => ({
      vectorStoreId,
      fileId,
      tenantId: 'acme',
      keyId: null,
      batchId: null,
      status: 'in_progress',
      lastError: null,
      attributes: { n: 1 },
      chunking: { maxChunkSizeTokens: 800, chunkOverlapTokens: 400 },
      usageBytes: 0,
      createdAt: 1_000,
      updatedAt: 1_000,
      ...overrides,
    });
    const chunk = (text: string): ChunkInput => ({ text, tokens: 10, terms: terms(text), embedding: Float32Array.from([0.6, 0.8]) });

    test('BM25 matches the reference on every dialect, and chunks leave the index with their file', async () => {
      const store = await open();
      await store.knowledge.putVectorStore(storeRecord('vs_1'));
      for (const [index, text] of corpus.entries()) {
        await store.knowledge.putStoreFile(entry('vs_1', `file-${index}`));
        expect(await store.knowledge.finishStoreFile('vs_1', `file-${index}`, { status: 'completed', chunks: [chunk(text)], at: 2_000 })).toBe(true);
      }
      const query = ['whale', 'krill', 'lava'];
      const statistics = await store.knowledge.termStatistics('vs_1', query);
      expect(statistics.chunks).toBe(5);
      expect(statistics.documentFrequency.get('krill')).toBe(2);
      const matchTerms = query.map((stem) => {
        const df = statistics.documentFrequency.get(stem)!;
        return { stem, word: stem, idf: Math.log((5 - df + 0.5) / (df + 0.5)) };
      });
      const hits = await store.knowledge.matchTerms('vs_1', matchTerms, undefined);
      const expected = referenceBm25(corpus.map(terms), query);
      expect(hits).toHaveLength(expected.size);
      for (const hit of hits) expect(hit.score).toBeCloseTo(expected.get(Number(hit.fileId.slice(5)))!, 9);
      expect(hits.map((hit) => hit.score)).toEqual([...hits.map((hit) => hit.score)].sort((left, right) => right - left));
      expect(await store.knowledge.matchTerms('vs_1', matchTerms, 2)).toHaveLength(2);
      expect((await store.knowledge.embeddings('vs_1'))[0]!.embedding[1]).toBeCloseTo(0.8, 6);

      expect(await store.knowledge.deleteStoreFile('acme', 'vs_1', 'file-2')).toBe(true);
      expect((await store.knowledge.matchTerms('vs_1', [{ stem: 'lava', word: 'lava', idf: 1 }], undefined)).length).toBe(0);
      expect((await store.knowledge.termStatistics('vs_1', ['lava'])).chunks).toBe(4);
      await store.close();
    });

    test('an entry completes once; a cancelled or deleted one is not written; counts follow', async () => {
      const store = await open();
      await store.knowledge.putVectorStore(storeRecord('vs_2'));
      await store.knowledge.putStoreFile(entry('vs_2', 'file-a', { batchId: 'vsfb_1' }));
      await store.knowledge.putStoreFile(entry('vs_2', 'file-b', { batchId: 'vsfb_1' }));
      expect(await store.knowledge.cancelFileBatch('vs_2', 'vsfb_1', 3_000)).toBe(2);
      expect(await store.knowledge.finishStoreFile('vs_2', 'file-a', { status: 'completed', chunks: [chunk('krill')], at: 3_000 })).toBe(false);
      await store.knowledge.putStoreFile(entry('vs_2', 'file-c'));
      expect(await store.knowledge.finishStoreFile('vs_2', 'file-c', { status: 'failed', error: { code: 'invalid_file', message: 'no' }, at: 3_000 })).toBe(
        true,
      );
      expect(await store.knowledge.fileCounts('vs_2')).toEqual({ in_progress: 0, completed: 0, failed: 1, cancelled: 2, total: 3 });
      expect(await store.knowledge.fileCounts('vs_2', 'vsfb_1')).toEqual({ in_progress: 0, completed: 0, failed: 0, cancelled: 2, total: 2 });
      expect((await store.knowledge.getStoreFile('acme', 'vs_2', 'file-c'))?.lastError).toEqual({ code: 'invalid_file', message: 'no' });
      expect(await store.knowledge.getStoreFile('other', 'vs_2', 'file-c')).toBeUndefined();
      await store.close();
    });

    test('stores belong to their tenant; deleting one takes its files, chunks and index', async () => {
      const store = await open();
      await store.knowledge.putVectorStore(storeRecord('vs_3'));
      await store.knowledge.putVectorStore(storeRecord('vs_4', 'other'));
      expect(await store.knowledge.getVectorStore('acme', 'vs_3')).toEqual(storeRecord('vs_3'));
      expect(await store.knowledge.getVectorStore('acme', 'vs_4')).toBeUndefined();
      expect((await store.knowledge.listVectorStores('acme', { limit: 10, order: 'desc' })).map((record) => record.id)).toEqual(['vs_3']);
      await store.knowledge.putStoreFile(entry('vs_3', 'file-x'));
      await store.knowledge.finishStoreFile('vs_3', 'file-x', { status: 'completed', chunks: [chunk('krill whales')], at: 2_000 });
      expect(await store.knowledge.storesOfFile('acme', 'file-x')).toEqual(['vs_3']);
      expect(await store.knowledge.deleteVectorStore('other', 'vs_3')).toBe(false);
      expect(await store.knowledge.deleteVectorStore('acme', 'vs_3')).toBe(true);
      expect(await store.knowledge.storesOfFile('acme', 'file-x')).toEqual([]);
      expect(await store.knowledge.getChunks([1, 2, 3])).toEqual([]);
      await store.close();
    });
  });
}
