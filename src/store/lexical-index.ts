/**
 * The lexical index of vector stores' chunks, one implementation per dialect behind the knowledge
 * store: SQLite's is an FTS5 table per vector store (sqlite/fts5-index.ts), PostgreSQL's postings
 * and document frequencies in tables (postgres/postings-index.ts). Both index the terms
 * `knowledge/lexical/tokenize.ts` makes and score with FTS5's BM25, so they rank alike.
 */
import type { Kysely, Transaction } from 'kysely';
import type { MatchTerm, ScoredChunk } from '../core/vector-store-store.js';
import type { Database } from './schema.js';

/** A vector store as an index knows it: its id and its number (for names of its own tables). */
export interface IndexedStore {
  id: string;
  seq: number;
}

/** A chunk going in or out of the index. */
export interface IndexedChunk {
  id: number;
  text: string;
  /** Stem -> occurrences. */
  counts: Record<string, number>;
  /** Its BM25 length. */
  length: number;
}

/** BM25's corpus statistics of a store, kept in its row. */
export interface CorpusSize {
  chunks: number;
  terms: number;
}

export interface LexicalIndex {
  /** Makes what a new store's index needs. */
  create(transaction: Transaction<Database>, store: IndexedStore): Promise<void>;
  /** Removes a store's index. */
  drop(transaction: Transaction<Database>, store: IndexedStore): Promise<void>;
  add(transaction: Transaction<Database>, store: IndexedStore, chunks: readonly IndexedChunk[]): Promise<void>;
  remove(transaction: Transaction<Database>, store: IndexedStore, chunks: readonly IndexedChunk[]): Promise<void>;
  documentFrequency(db: Kysely<Database>, store: IndexedStore, stems: readonly string[]): Promise<Map<string, number>>;
  /** BM25 over `terms` (FTS5's formula: k1 1.2, b 0.75, idf floored at 1e-6), best first. */
  match(db: Kysely<Database>, store: IndexedStore, terms: readonly MatchTerm[], limit: number | undefined, size: CorpusSize): Promise<ScoredChunk[]>;
}
