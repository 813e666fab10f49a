/** Table types of the knowledge section (migrations 0024 on), for Kysely; JSON columns hold text. */
import type { Generated } from 'kysely';

export interface KnowledgeFilesTable {
  id: string;
  tenant_id: string;
  filename: string;
  purpose: string;
  bytes: number;
  sha256: string;
  created_at: number;
  expires_at: number | null;
}

export interface KnowledgeVectorStoresTable {
  seq: Generated<number>;
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  /** JSON object of strings. */
  metadata: string;
  created_at: number;
  last_active_at: number;
  expires_after_days: number | null;
  /** Chunks indexed, and their terms all together (BM25's corpus statistics). */
  chunk_count: Generated<number>;
  term_count: Generated<number>;
  /** Bumped by every change to its chunks (0033). */
  revision: Generated<number>;
}

export interface KnowledgeStoreFilesTable {
  vector_store_id: string;
  file_id: string;
  tenant_id: string;
  key_id: string | null;
  batch_id: string | null;
  status: string;
  /** JSON `{code, message}`. */
  last_error: string | null;
  /** JSON object. */
  attributes: string;
  /** JSON `ChunkingSettings`. */
  chunking: string;
  usage_bytes: number;
  created_at: number;
  updated_at: number;
}

export interface KnowledgeFileBatchesTable {
  id: string;
  vector_store_id: string;
  tenant_id: string;
  created_at: number;
}

export interface KnowledgeChunksTable {
  id: Generated<number>;
  vector_store_id: string;
  file_id: string;
  chunk_index: number;
  text: string;
  tokens: number;
  /** Its BM25 length: how many terms it has. */
  term_count: number;
  /** JSON `{stem: count}`. */
  term_counts: string;
  /** Float32 little-endian, where an embedding model is configured. */
  embedding: Uint8Array | null;
}

/** PostgreSQL only: one row per term per chunk. */
export interface KnowledgePostingsTable {
  vector_store_id: string;
  term: string;
  chunk_id: number;
  tf: number;
}

/** PostgreSQL only: chunks per term per store. */
export interface KnowledgeTermsTable {
  vector_store_id: string;
  term: string;
  df: number;
}

/** The knowledge section's tables, merged into `Database`. */
export interface KnowledgeTables {
  knowledge_files: KnowledgeFilesTable;
  knowledge_vector_stores: KnowledgeVectorStoresTable;
  knowledge_store_files: KnowledgeStoreFilesTable;
  knowledge_file_batches: KnowledgeFileBatchesTable;
  knowledge_chunks: KnowledgeChunksTable;
  knowledge_postings: KnowledgePostingsTable;
  knowledge_terms: KnowledgeTermsTable;
}
