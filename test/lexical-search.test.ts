/**
 * The in-memory BM25 ranks as the database's index: on a corpus with a Zipf-like vocabulary (so
 * queries mix rare and common terms), the search returns the chunks and scores of the store's
 * `matchTerms` (SQLite's FTS5, PostgreSQL's term tables), and follows the store when files are
 * added and deleted.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { Store } from '../src/core/store.js';
import { terms } from '../src/knowledge/lexical/tokenize.js';
import { lexicalSearch, queryTerms } from '../src/knowledge/search/lexical-search.js';
import { StoreIndexCache } from '../src/knowledge/search/store-index-cache.js';
import { openPostgresStore } from '../src/store/postgres/open-postgres-store.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from './support/services.js';

const noPostgres = await skipWithoutPostgres();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

let seed = 7;
const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
/** Word w0 is the commonest; the chance of wN falls as 1 / (N + 1). */
const vocabulary = Array.from({ length: 3000 }, (_, index) => `w${index}x`);
const weights = vocabulary.map((_, index) => 1 / (index + 1));
const total = weights.reduce((sum, weight) => sum + weight, 0);
function word(): string {
  let pick = random() * total;
  for (const [index, weight] of weights.entries()) if ((pick -= weight) <= 0) return vocabulary[index]!;
  return vocabulary[0]!;
}
const documents = Array.from({ length: 1000 }, () => Array.from({ length: 20 + Math.floor(random() * 60) }, word).join(' '));
const queries = Array.from({ length: 40 }, () => Array.from({ length: 3 + Math.floor(random() * 6) }, word).join(' '));

async function createStore(store: Store): Promise<void> {
  await store.knowledge.putVectorStore({
    id: 'vs_z',
    tenantId: 't',
    name: '',
    description: null,
    metadata: {},
    createdAt: 0,
    lastActiveAt: 0,
    expiresAfterDays: null,
  });
}

async function addFiles(store: Store, indexes: readonly number[]): Promise<void> {
  for (const index of indexes) {
    await store.knowledge.putStoreFile({
      vectorStoreId: 'vs_z',
      fileId: `file-${index}`,
      tenantId: 't',
      keyId: null,
      batchId: null,
      status: 'in_progress',
      lastError: null,
      attributes: {},
      chunking: { maxChunkSizeTokens: 800, chunkOverlapTokens: 400 },
      usageBytes: 0,
      createdAt: 0,
      updatedAt: 0,
    });
  }
  // Finished a hundred at a time, as ingest writes a batch in one transaction.
  for (let start = 0; start < indexes.length; start += 100) {
    await store.knowledge.finishStoreFiles(
      indexes.slice(start, start + 100).map((index) => {
        const text = documents[index]!;
        return {
          vectorStoreId: 'vs_z',
          fileId: `file-${index}`,
          outcome: { status: 'completed', chunks: [{ text, tokens: 1, terms: terms(text), embedding: null }], at: 0 },
        };
      }),
    );
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, offset) => from + offset);

/** Each document's term counts and length, by its index. */
const termsOf = documents.map((text, index) => {
  const counts = new Map<string, number>();
  const all = terms(text);
  for (const term of all) counts.set(term, (counts.get(term) ?? 0) + 1);
  return { fileId: `file-${index}`, counts, length: all.length };
});

/** BM25 written out (FTS5's: k1 1.2, b 0.75, idf floored at 1e-6) over the files in the store, by file. */
function reference(live: readonly number[], query: string, k: number): Array<{ fileId: string; score: number }> {
  const counted = live.map((index) => termsOf[index]!);
  const average = counted.reduce((sum, document) => sum + document.length, 0) / counted.length;
  const idf = new Map<string, number>();
  for (const stem of queryTerms(query).keys()) {
    const df = counted.filter((document) => document.counts.has(stem)).length;
    if (df > 0) idf.set(stem, Math.max(1e-6, Math.log((counted.length - df + 0.5) / (df + 0.5))));
  }
  const positive = [...idf].filter(([, value]) => value > 1e-6);
  const score = (document: (typeof counted)[number], using: Array<[string, number]>): number =>
    using.reduce((sum, [stem, value]) => {
      const tf = document.counts.get(stem) ?? 0;
      return sum + (value * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * document.length) / average));
    }, 0);
  const rank = (using: Array<[string, number]>) =>
    counted
      .filter((document) => using.some(([stem]) => document.counts.has(stem)))
      .map((document) => ({ fileId: document.fileId, score: score(document, using) }))
      .sort((left, right) => right.score - left.score)
      .slice(0, k);
  const first = rank(positive);
  return first.length < k ? rank([...idf]) : first;
}

/** Every query at k 1, 10 and 50 ranks as BM25 written out does, and (while nothing was deleted) as the store's own index. */
async function expectSameRanking(store: Store, cache: StoreIndexCache, live: readonly number[], againstStore: boolean): Promise<void> {
  for (const k of [1, 10, 50]) {
    for (const query of queries) {
      const result = await lexicalSearch(cache, 'vs_z', query, k);
      const written = reference(live, query, k);
      expect(result.hits.map((hit) => hit.score)).toEqual(written.map((hit) => expect.closeTo(hit.score, 9) as unknown as number));
      const lastWritten = written.at(-1)?.score ?? 0;
      const aboveWritten = (hits: ReadonlyArray<{ fileId: string; score: number }>) =>
        new Set(hits.filter((hit) => hit.score > lastWritten + 1e-9).map((hit) => hit.fileId));
      expect(aboveWritten(result.hits)).toEqual(aboveWritten(written));
      if (!againstStore) continue;
      const stems = [...queryTerms(query).keys()];
      const statistics = await store.knowledge.termStatistics('vs_z', stems);
      const found = stems
        .filter((stem) => statistics.documentFrequency.has(stem))
        .map((stem) => {
          const df = statistics.documentFrequency.get(stem)!;
          return { stem, word: stem, idf: Math.max(1e-6, Math.log((statistics.chunks - df + 0.5) / (df + 0.5))) };
        });
      let full = await store.knowledge.matchTerms(
        'vs_z',
        found.filter((term) => term.idf > 1e-6),
        k,
      );
      // Too few chunks with a term of positive idf: every term found ranks them, as FTS5 would.
      if (full.length < k) full = await store.knowledge.matchTerms('vs_z', found, k);
      expect(result.hits.map((hit) => hit.score)).toEqual(full.map((hit) => expect.closeTo(hit.score, 9) as unknown as number));
      // The same chunks, but where two tie at the k-th score either may be the one kept.
      const last = full.at(-1)?.score ?? 0;
      const above = (hits: typeof full) => new Set(hits.filter((hit) => hit.score > last + 1e-9).map((hit) => `${hit.chunkId}:${hit.fileId}`));
      expect(above(result.hits)).toEqual(above(full));
    }
  }
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('in-memory BM25 on %s', (_name, postgres) => {
  test.skipIf(postgres && noPostgres)(
    "ranks as the store's index, and follows files added, deleted and added again",
    async () => {
      const schema = uniqueName('lexical');
      if (postgres) schemas.push(schema);
      const store = postgres ? await openPostgresStore(postgresUrl, { schema }) : await openSqliteStore(':memory:');
      await createStore(store);
      await addFiles(store, range(0, 700));
      const cache = new StoreIndexCache(store.knowledge);
      await expectSameRanking(store, cache, range(0, 700), true);
      // Added since the copy was made: read in by id.
      await addFiles(store, range(700, 1000));
      await expectSameRanking(store, cache, range(0, 1000), true);
      // Deleted: the copy is read again, and no deleted file's chunk is found. (FTS5 with
      // contentless_delete keeps deleted rows in its statistics until it merges, so from here the
      // written-out BM25 is the reference.)
      const deleted = range(0, 1000).filter((index) => index % 7 === 0);
      for (const index of deleted) expect(await store.knowledge.deleteStoreFile('t', 'vs_z', `file-${index}`)).toBe(true);
      const live = range(0, 1000).filter((index) => index % 7 !== 0);
      await expectSameRanking(store, cache, live, postgres);
      const gone = new Set(deleted.map((index) => `file-${index}`));
      for (const query of queries) expect((await lexicalSearch(cache, 'vs_z', query, 50)).hits.filter((hit) => gone.has(hit.fileId))).toEqual([]);
      // Deleted and added again with the same text: the store's chunk and term counts end where they were.
      await store.knowledge.deleteStoreFile('t', 'vs_z', 'file-1');
      await addFiles(store, [1]);
      await expectSameRanking(store, cache, live, postgres);
      await store.close();
    },
    600_000,
  );
});
