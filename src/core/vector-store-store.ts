/**
 * The vector-store part of the knowledge section of the Store contract: vector stores, the files
 * in them (with their ingest status), batches of files, chunks, and the lexical index over the
 * chunks. The index is the dialect's own (SQLite: an FTS5 table per vector store; PostgreSQL:
 * term statistics in tables) but both index the same terms (src/knowledge/lexical/tokenize.ts)
 * and score them with the same BM25, so a search ranks alike on either.
 */

/** Values a file's attributes may hold, as OpenAI's. */
export type AttributeValue = string | number | boolean;

/** A vector store. */
export interface VectorStoreRecord {
  /** `vs_...`, time-ordered. */
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  metadata: Record<string, string>;
  createdAt: number;
  lastActiveAt: number;
  /** Days after `lastActiveAt` that it expires; null: never. */
  expiresAfterDays: number | null;
}

/** A file's place in a vector store's ingest. */
export type VectorStoreFileStatus = 'in_progress' | 'completed' | 'failed' | 'cancelled';

/** How a file is cut into chunks, in tokens. */
export interface ChunkingSettings {
  maxChunkSizeTokens: number;
  chunkOverlapTokens: number;
}

/** A file in a vector store. */
export interface VectorStoreFileRecord {
  vectorStoreId: string;
  fileId: string;
  tenantId: string;
  /** The key that added it (billed for its embeddings); null in local mode. */
  keyId: string | null;
  /** The batch it came in; null when added alone. */
  batchId: string | null;
  status: VectorStoreFileStatus;
  /** Why it failed: `unsupported_file`, `invalid_file` or `server_error`, and words. */
  lastError: { code: string; message: string } | null;
  attributes: Record<string, AttributeValue>;
  chunking: ChunkingSettings;
  /** Bytes its chunks take (their text). */
  usageBytes: number;
  createdAt: number;
  updatedAt: number;
}

/** A batch of files added together. */
export interface FileBatchRecord {
  id: string;
  vectorStoreId: string;
  tenantId: string;
  createdAt: number;
}

/** Counts of a store's (or batch's) files by status. */
export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

/** One chunk of a file, as ingest makes it. */
export interface ChunkInput {
  text: string;
  /** Its length in tokens (the chunker's count). */
  tokens: number;
  /** Its index terms, in order (tokenize.ts); their count is its BM25 length. */
  terms: string[];
  /** Its embedding, where an embedding model is configured. */
  embedding: Float32Array | null;
}

/** A stored chunk. */
export interface ChunkRecord {
  id: number;
  fileId: string;
  /** Its place in the file. */
  index: number;
  text: string;
}

/** Corpus statistics of one vector store's index, for BM25. */
export interface TermStatistics {
  /** Chunks indexed. */
  chunks: number;
  /** Their terms, all together (average length = terms / chunks). */
  terms: number;
  /** Chunks that contain each term asked about (absent: none). */
  documentFrequency: Map<string, number>;
}

/** A query term for a BM25 match: its stem, a word that stems to it (SQLite's FTS5 takes words), and its idf. */
export interface MatchTerm {
  stem: string;
  word: string;
  idf: number;
}

/** A chunk's BM25 score over some terms. */
export interface ScoredChunk {
  chunkId: number;
  fileId: string;
  score: number;
}

/** Paging of lists of stores and their files. */
export interface ListQuery {
  after?: string | undefined;
  before?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

/** Persistence of vector stores, their files, chunks and the lexical index. */
export interface VectorStoreStore {
  putVectorStore(store: VectorStoreRecord): Promise<void>;
  getVectorStore(tenantId: string, id: string): Promise<VectorStoreRecord | undefined>;
  listVectorStores(tenantId: string, query: ListQuery): Promise<VectorStoreRecord[]>;
  /** Deletes the store, its files' entries, batches, chunks and index. False when it was not the tenant's. */
  deleteVectorStore(tenantId: string, id: string): Promise<boolean>;
  /** Vector stores (every tenant's) whose expiry passed before `now`. */
  expiredVectorStores(now: number, limit: number): Promise<VectorStoreRecord[]>;

  /** Adds (or puts back, resetting it) a file's entry in a store. */
  putStoreFile(file: VectorStoreFileRecord): Promise<void>;
  getStoreFile(tenantId: string, vectorStoreId: string, fileId: string): Promise<VectorStoreFileRecord | undefined>;
  listStoreFiles(
    tenantId: string,
    vectorStoreId: string,
    query: ListQuery & { status?: VectorStoreFileStatus | undefined; batchId?: string | undefined },
  ): Promise<VectorStoreFileRecord[]>;
  /** Every file entry of a store, for attribute filters (id and attributes only matter). */
  storeFileAttributes(vectorStoreId: string): Promise<Array<{ fileId: string; attributes: Record<string, AttributeValue> }>>;
  updateStoreFileAttributes(tenantId: string, vectorStoreId: string, fileId: string, attributes: Record<string, AttributeValue>): Promise<boolean>;
  /**
   * Moves a file's entry out of `in_progress`: failed or cancelled with its error, or completed
   * with its chunks (indexed in the same transaction, replacing any it had). False when the entry
   * is gone or no longer in progress (deleted or cancelled meanwhile): nothing is written.
   */
  finishStoreFile(
    vectorStoreId: string,
    fileId: string,
    outcome:
      | { status: 'completed'; chunks: ChunkInput[]; at: number }
      | { status: 'failed' | 'cancelled'; error: { code: string; message: string } | null; at: number },
  ): Promise<boolean>;
  /** Several entries' `finishStoreFile` in one transaction (ingest writes a batch at a time); one answer each. */
  finishStoreFiles(
    items: ReadonlyArray<{ vectorStoreId: string; fileId: string; outcome: Parameters<VectorStoreStore['finishStoreFile']>[2] }>,
  ): Promise<boolean[]>;
  /** Deletes a file's entry, chunks and index rows from one store. */
  deleteStoreFile(tenantId: string, vectorStoreId: string, fileId: string): Promise<boolean>;
  /** The stores (of the file's tenant) that hold a file. */
  storesOfFile(tenantId: string, fileId: string): Promise<string[]>;
  /** File entries still in progress, every store's (to resume them after a restart). */
  inProgressFiles(limit: number): Promise<VectorStoreFileRecord[]>;
  fileCounts(vectorStoreId: string, batchId?: string): Promise<FileCounts>;
  /** Bytes a store's chunks take. */
  usageBytes(vectorStoreId: string): Promise<number>;

  putFileBatch(batch: FileBatchRecord): Promise<void>;
  getFileBatch(tenantId: string, vectorStoreId: string, id: string): Promise<FileBatchRecord | undefined>;
  /** Marks the batch's files still in progress cancelled; resolves to how many. */
  cancelFileBatch(vectorStoreId: string, batchId: string, at: number): Promise<number>;

  /** BM25 statistics of a store's index for some stems. */
  termStatistics(vectorStoreId: string, stems: readonly string[]): Promise<TermStatistics>;
  /**
   * Chunks that contain any of `terms`, scored by BM25 (k1 1.2, b 0.75, FTS5's formula) over these
   * terms only, best first, at most `limit` (all when undefined).
   */
  matchTerms(vectorStoreId: string, terms: readonly MatchTerm[], limit: number | undefined): Promise<ScoredChunk[]>;
  /** A store's chunks with ids above `afterId`, by id, at most `limit`: each one's file, length in terms and count of each term. */
  chunkTermsAfter(
    vectorStoreId: string,
    afterId: number,
    limit: number,
  ): Promise<Array<{ id: number; fileId: string; length: number; counts: Record<string, number> }>>;
  /**
   * A store's revision (bumped by every change to its chunks, in any process) and its chunk
   * count, so an in-memory copy of its index can tell whether it is current; undefined when the
   * store is gone.
   */
  chunkRevision(vectorStoreId: string): Promise<{ revision: number; chunks: number } | undefined>;
  getChunks(chunkIds: readonly number[]): Promise<ChunkRecord[]>;
  /** Search results' chunks with their file's name and attributes in this store, in one read. */
  describeChunks(
    vectorStoreId: string,
    chunkIds: readonly number[],
  ): Promise<Array<ChunkRecord & { filename: string; attributes: Record<string, AttributeValue> }>>;
  /** A file's chunks in a store, in order. */
  fileChunks(vectorStoreId: string, fileId: string): Promise<ChunkRecord[]>;
  /** Every chunk's embedding in a store (for the vector leg), with the file it belongs to. */
  embeddings(vectorStoreId: string): Promise<Array<{ chunkId: number; fileId: string; embedding: Float32Array }>>;
}
