/**
 * BM25 search over a vector store's lexical index, in memory (memory-index.ts, kept current by
 * store-index-cache.ts). The query's words are stemmed as the index's (tokenize.ts) and ORed, each
 * term once. Terms in more than half the chunks have an idf of at most 0, which FTS5 floors at
 * 1e-6, so they are left out: a chunk's score moves by less than 3e-6 a term, and walking their
 * postings (half the store each) was most of the work. They still rank the chunks that match
 * nothing else, when too few do.
 */
import { porterStem } from '../lexical/porter-stem.js';
import { words } from '../lexical/tokenize.js';
import { k1, type IndexHit } from './memory-index.js';
import type { StoreIndexCache } from './store-index-cache.js';

/** A lexical search's hits (raw BM25, best first) and the most any chunk could score, for normalising. */
export interface LexicalResult {
  hits: IndexHit[];
  /** The sum of each term's idf x (k1 + 1): scores divided by it fall in [0, 1). */
  maxScore: number;
}

/** The query's distinct stems, each with the first word that makes it. */
export function queryTerms(query: string): Map<string, string> {
  const terms = new Map<string, string>();
  for (const word of words(query)) {
    const stem = porterStem(word);
    if (!terms.has(stem)) terms.set(stem, word);
  }
  return terms;
}

/** The best `k` chunks for `query`; `allowed`, where given, keeps only chunks of those files (attribute filters). */
export async function lexicalSearch(
  indexes: StoreIndexCache,
  vectorStoreId: string,
  query: string,
  k: number,
  allowed?: ReadonlySet<string>,
): Promise<LexicalResult> {
  const index = await indexes.current(vectorStoreId);
  if (!index) return { hits: [], maxScore: 0 };
  const found = index.find(queryTerms(query).keys());
  const positive = found.filter((term) => term.idf > 1e-6);
  // A query of terms every chunk has: rank by them all, as FTS5 would.
  const terms = positive.length > 0 ? positive : found;
  const maxScore = terms.reduce((sum, term) => sum + term.idf * (k1 + 1), 0);
  const filter = allowed && ((fileId: string) => allowed.has(fileId));
  let hits = index.rank(terms, k, filter);
  // Fewer than k: chunks that match only the terms left out come after them, as the whole query ranks them.
  if (hits.length < k && terms.length < found.length) hits = index.rank(found, k, filter);
  return { hits, maxScore };
}
