/**
 * Top-k pruning is exact: on a corpus with a Zipf-like vocabulary (so queries mix rare and common
 * terms), the pruned search returns the chunks and scores of ranking every match, on SQLite's FTS5
 * and on PostgreSQL's term tables alike, and the pruned plan is taken for most queries.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { Store } from '../src/core/store.js';
import { terms } from '../src/knowledge/lexical/tokenize.js';
import { lexicalSearch, queryTerms } from '../src/knowledge/search/lexical-search.js';
import { TermCountCache } from '../src/knowledge/search/term-count-cache.js';
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

async function fill(store: Store): Promise<void> {
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
  for (const [index, text] of documents.entries()) {
    const fileId = `file-${index}`;
    await store.knowledge.putStoreFile({
      vectorStoreId: 'vs_z',
      fileId,
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
    await store.knowledge.finishStoreFile('vs_z', fileId, { status: 'completed', chunks: [{ text, tokens: 1, terms: terms(text), embedding: null }], at: 0 });
  }
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('pruned BM25 on %s', (_name, postgres) => {
  test.skipIf(postgres && noPostgres)(
    'the pruned top k equals ranking every match',
    async () => {
      const schema = uniqueName('prune');
      if (postgres) schemas.push(schema);
      const store = postgres ? await openPostgresStore(postgresUrl, { schema }) : await openSqliteStore(':memory:');
      await fill(store);
      const index = {
        termStatistics: (id: string, stems: readonly string[]) => store.knowledge.termStatistics(id, stems),
        matchTerms: store.knowledge.matchTerms.bind(store.knowledge),
        terms: new TermCountCache(store.knowledge),
      };
      let pruned = 0;
      for (const k of [1, 10, 50]) {
        for (const query of queries) {
          const result = await lexicalSearch(index, 'vs_z', query, k);
          if (result.pruned) pruned += 1;
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
          const above = (hits: typeof full) => new Set(hits.filter((hit) => hit.score > last + 1e-9).map((hit) => hit.chunkId));
          expect(above(result.hits)).toEqual(above(full));
        }
      }
      expect(pruned).toBeGreaterThan(queries.length);
      await store.close();
    },
    120_000,
  );
});
