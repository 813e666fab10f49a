/**
 * BM25 search over a vector store's lexical index with top-k pruning. The query's words are
 * stemmed as the index's (tokenize.ts) and ORed, each term once. Terms in more than half the
 * chunks have an idf of at most 0 (FTS5 floors it at 1e-6), so they are left out: a chunk's score
 * moves by less than 3e-6 a term. The rest split into rare terms, matched by the index, and common
 * ones (in over 5% of the chunks), added from the candidates' stored term counts; the top k are
 * exact when the k-th score is at least what the common terms could give a chunk without a rare
 * one, and otherwise the whole query runs (MaxScore's bound, Turtle and Flood 1995). Ranking every
 * chunk that matches a common term is what took 170 ms at 50k chunks.
 */
import type { MatchTerm, ScoredChunk, VectorStoreStore } from '../../core/vector-store-store.js';
import { porterStem } from '../lexical/porter-stem.js';
import { words } from '../lexical/tokenize.js';
import type { TermCountCache } from './term-count-cache.js';

const k1 = 1.2;
const b = 0.75;
/** Terms in more than this share of the chunks are common. */
const commonShare = 0.05;

/** A lexical search's hits (raw BM25, best first) and the most any chunk could score, for normalising. */
export interface LexicalResult {
  hits: ScoredChunk[];
  /** The sum of each term's bound idf x (k1 + 1): scores divided by it fall in [0, 1). */
  maxScore: number;
  /** Whether the pruned plan was exact (false: the whole query ran). */
  pruned: boolean;
}

type Index = Pick<VectorStoreStore, 'termStatistics' | 'matchTerms'> & { terms: TermCountCache };

/** The query's distinct stems, each with the first word that makes it. */
export function queryTerms(query: string): Map<string, string> {
  const terms = new Map<string, string>();
  for (const word of words(query)) {
    const stem = porterStem(word);
    if (!terms.has(stem)) terms.set(stem, word);
  }
  return terms;
}

/**
 * The best `k` chunks for `query`. `allowed`, where given, keeps only chunks of those files
 * (attribute filters): then every match is ranked.
 */
export async function lexicalSearch(index: Index, vectorStoreId: string, query: string, k: number, allowed?: ReadonlySet<string>): Promise<LexicalResult> {
  const result = await prunedSearch(index, vectorStoreId, query, k, allowed);
  // Fewer than k hits: chunks that match only terms left out (in over half the chunks) come
  // after them, as the whole query ranks them (a small store).
  if (result.hits.length >= k || result.leftOut.length === 0) return result;
  const all = await index.matchTerms(vectorStoreId, result.leftOut, allowed ? undefined : k);
  return { ...result, hits: (allowed ? all.filter((hit) => allowed.has(hit.fileId)) : all).slice(0, k), pruned: false };
}

async function prunedSearch(
  index: Index,
  vectorStoreId: string,
  query: string,
  k: number,
  allowed: ReadonlySet<string> | undefined,
): Promise<LexicalResult & { leftOut: MatchTerm[] }> {
  const wanted = queryTerms(query);
  const statistics = await index.termStatistics(vectorStoreId, [...wanted.keys()]);
  const chunks = statistics.chunks;
  if (chunks === 0) return { hits: [], maxScore: 0, pruned: false, leftOut: [] };
  const found: Array<MatchTerm & { df: number }> = [];
  for (const [stem, word] of wanted) {
    const df = statistics.documentFrequency.get(stem) ?? 0;
    // FTS5's idf, floored at 1e-6 for a term in more than half the chunks.
    if (df > 0) found.push({ stem, word, df, idf: Math.max(1e-6, Math.log((chunks - df + 0.5) / (df + 0.5))) });
  }
  const positive = found.filter((term) => term.idf > 1e-6);
  // A query of terms every chunk has: rank by them all, as FTS5 would.
  const terms = positive.length > 0 ? positive : found;
  const maxScore = terms.reduce((sum, term) => sum + term.idf * (k1 + 1), 0);
  // Every term found, for a store too small for the pruned terms to fill k.
  const leftOut = terms.length < found.length ? found : [];
  if (terms.length === 0) return { hits: [], maxScore, pruned: false, leftOut };
  if (allowed) {
    const all = await index.matchTerms(vectorStoreId, terms, undefined);
    return { hits: all.filter((hit) => allowed.has(hit.fileId)).slice(0, k), maxScore, pruned: false, leftOut };
  }
  terms.sort((left, right) => right.idf - left.idf);
  const bound = (term: MatchTerm): number => term.idf * (k1 + 1);
  let common = terms.filter((term, position) => position > 0 && term.df > chunks * commonShare);
  const depth = Math.max(20 * k, 1000);
  const averageLength = statistics.terms / chunks;
  const version = `${chunks}:${statistics.terms}`;
  // Two tries: the second keeps common only the terms whose bounds stay under the k-th score the first found.
  for (let attempt = 0; attempt < 2 && common.length > 0; attempt += 1) {
    const rare = terms.slice(0, terms.length - common.length);
    const candidates = await index.matchTerms(vectorStoreId, rare, depth);
    const scored = await addCommonTerms(index, vectorStoreId, version, chunks, candidates, common, averageLength);
    const kth = scored.length >= k ? scored[k - 1]!.score : 0;
    const unseen = common.reduce((sum, term) => sum + bound(term), 0) + (candidates.length === depth ? candidates[depth - 1]!.score : 0);
    if (scored.length >= k && kth >= unseen) return { hits: scored.slice(0, k), maxScore, pruned: true, leftOut };
    let budget = kth;
    let keep = 0;
    while (keep < terms.length - 1 && budget - bound(terms[terms.length - 1 - keep]!) > 0) budget -= bound(terms[terms.length - 1 - keep++]!);
    if (keep === 0 || keep >= common.length) break;
    common = terms.slice(terms.length - keep);
  }
  return { hits: await index.matchTerms(vectorStoreId, terms, k), maxScore, pruned: false, leftOut };
}

/** Candidates' full scores: their score over the rare terms plus each common term's, from their stored term counts. */
async function addCommonTerms(
  index: Index,
  vectorStoreId: string,
  version: string,
  chunks: number,
  candidates: readonly ScoredChunk[],
  common: ReadonlyArray<MatchTerm>,
  averageLength: number,
): Promise<ScoredChunk[]> {
  const counts = await index.terms.counts(
    vectorStoreId,
    version,
    candidates.map((hit) => hit.chunkId),
    common.map((term) => term.stem),
    chunks,
  );
  const scored = candidates.map((hit) => {
    const stored = counts.get(hit.chunkId);
    let score = hit.score;
    if (stored) {
      const norm = k1 * (1 - b + (b * stored.length) / averageLength);
      for (const term of common) {
        const frequency = stored.counts.get(term.stem) ?? 0;
        if (frequency > 0) score += (term.idf * frequency * (k1 + 1)) / (frequency + norm);
      }
    }
    return { ...hit, score };
  });
  return scored.sort((left, right) => right.score - left.score || left.chunkId - right.chunkId);
}
