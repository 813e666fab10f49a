/**
 * The vector-store part of the knowledge store over Kysely, portable across SQLite and
 * PostgreSQL; the lexical index is the dialect's (lexical-index.ts). A file's chunks are written
 * in the transaction that completes its entry, so a file is indexed whole or not at all.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type {
  AttributeValue,
  ChunkRecord,
  FileBatchRecord,
  FileCounts,
  ListQuery,
  MatchTerm,
  ScoredChunk,
  TermStatistics,
  VectorStoreFileRecord,
  VectorStoreFileStatus,
  VectorStoreRecord,
  VectorStoreStore,
} from '../core/vector-store-store.js';
import type { KnowledgeStoreFilesTable, KnowledgeVectorStoresTable } from './knowledge-schema.js';
import { finishEntries, removeChunks } from './chunk-writes.js';
import type { IndexedStore, LexicalIndex } from './lexical-index.js';
import type { Database } from './schema.js';

type Outcome = Parameters<VectorStoreStore['finishStoreFile']>[2];

export class KyselyVectorStore implements VectorStoreStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly index: LexicalIndex,
  ) {}

  async putVectorStore(store: VectorStoreRecord): Promise<void> {
    const values = {
      id: store.id,
      tenant_id: store.tenantId,
      name: store.name,
      description: store.description,
      metadata: JSON.stringify(store.metadata),
      created_at: store.createdAt,
      last_active_at: store.lastActiveAt,
      expires_after_days: store.expiresAfterDays,
    };
    await this.db.transaction().execute(async (transaction) => {
      const existing = await transaction.selectFrom('knowledge_vector_stores').select('seq').where('id', '=', store.id).executeTakeFirst();
      if (existing) {
        const { name, description, metadata, last_active_at, expires_after_days } = values;
        await transaction
          .updateTable('knowledge_vector_stores')
          .set({ name, description, metadata, last_active_at, expires_after_days })
          .where('id', '=', store.id)
          .execute();
        return;
      }
      const row = await transaction.insertInto('knowledge_vector_stores').values(values).returning('seq').executeTakeFirstOrThrow();
      await this.index.create(transaction, { id: store.id, seq: Number(row.seq) });
    });
  }

  async getVectorStore(tenantId: string, id: string): Promise<VectorStoreRecord | undefined> {
    const row = await this.db.selectFrom('knowledge_vector_stores').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && storeFromRow(row);
  }

  async listVectorStores(tenantId: string, query: ListQuery): Promise<VectorStoreRecord[]> {
    let select = this.db.selectFrom('knowledge_vector_stores').selectAll().where('tenant_id', '=', tenantId);
    if (query.after !== undefined) select = select.where('id', query.order === 'asc' ? '>' : '<', query.after);
    if (query.before !== undefined) select = select.where('id', query.order === 'asc' ? '<' : '>', query.before);
    return (await select.orderBy('id', query.order).limit(query.limit).execute()).map(storeFromRow);
  }

  async deleteVectorStore(tenantId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const row = await transaction
        .selectFrom('knowledge_vector_stores')
        .select(['id', 'seq'])
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return false;
      await this.index.drop(transaction, { id, seq: Number(row.seq) });
      await transaction.deleteFrom('knowledge_chunks').where('vector_store_id', '=', id).execute();
      await transaction.deleteFrom('knowledge_store_files').where('vector_store_id', '=', id).execute();
      await transaction.deleteFrom('knowledge_file_batches').where('vector_store_id', '=', id).execute();
      await transaction.deleteFrom('knowledge_vector_stores').where('id', '=', id).execute();
      return true;
    });
  }

  async expiredVectorStores(now: number, limit: number): Promise<VectorStoreRecord[]> {
    const rows = await this.db
      .selectFrom('knowledge_vector_stores')
      .selectAll()
      .where('expires_after_days', 'is not', null)
      .where(sql<boolean>`last_active_at + expires_after_days * 86400000 <= ${now}`)
      .limit(limit)
      .execute();
    return rows.map(storeFromRow);
  }

  async putStoreFile(file: VectorStoreFileRecord): Promise<void> {
    const row = storeFileToRow(file);
    const { key_id, batch_id, status, last_error, attributes, chunking, usage_bytes, created_at, updated_at } = row;
    const update = { key_id, batch_id, status, last_error, attributes, chunking, usage_bytes, created_at, updated_at };
    await this.db
      .insertInto('knowledge_store_files')
      .values(row)
      .onConflict((conflict) => conflict.columns(['vector_store_id', 'file_id']).doUpdateSet(update))
      .execute();
  }

  async getStoreFile(tenantId: string, vectorStoreId: string, fileId: string): Promise<VectorStoreFileRecord | undefined> {
    const row = await this.db
      .selectFrom('knowledge_store_files')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('vector_store_id', '=', vectorStoreId)
      .where('file_id', '=', fileId)
      .executeTakeFirst();
    return row && storeFileFromRow(row);
  }

  async listStoreFiles(
    tenantId: string,
    vectorStoreId: string,
    query: ListQuery & { status?: VectorStoreFileStatus | undefined; batchId?: string | undefined },
  ): Promise<VectorStoreFileRecord[]> {
    let select = this.db.selectFrom('knowledge_store_files').selectAll().where('tenant_id', '=', tenantId).where('vector_store_id', '=', vectorStoreId);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.batchId !== undefined) select = select.where('batch_id', '=', query.batchId);
    if (query.after !== undefined) select = select.where('file_id', query.order === 'asc' ? '>' : '<', query.after);
    if (query.before !== undefined) select = select.where('file_id', query.order === 'asc' ? '<' : '>', query.before);
    return (await select.orderBy('file_id', query.order).limit(query.limit).execute()).map(storeFileFromRow);
  }

  async storeFileAttributes(vectorStoreId: string): Promise<Array<{ fileId: string; attributes: Record<string, AttributeValue> }>> {
    const rows = await this.db.selectFrom('knowledge_store_files').select(['file_id', 'attributes']).where('vector_store_id', '=', vectorStoreId).execute();
    return rows.map((row) => ({ fileId: row.file_id, attributes: JSON.parse(row.attributes) as Record<string, AttributeValue> }));
  }

  async updateStoreFileAttributes(tenantId: string, vectorStoreId: string, fileId: string, attributes: Record<string, AttributeValue>): Promise<boolean> {
    const result = await this.db
      .updateTable('knowledge_store_files')
      .set({ attributes: JSON.stringify(attributes) })
      .where('tenant_id', '=', tenantId)
      .where('vector_store_id', '=', vectorStoreId)
      .where('file_id', '=', fileId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async finishStoreFile(vectorStoreId: string, fileId: string, outcome: Outcome): Promise<boolean> {
    return (await this.finishStoreFiles([{ vectorStoreId, fileId, outcome }]))[0]!;
  }

  async finishStoreFiles(items: ReadonlyArray<{ vectorStoreId: string; fileId: string; outcome: Outcome }>): Promise<boolean[]> {
    return this.db.transaction().execute((transaction) => finishEntries(transaction, this.index, items));
  }

  async deleteStoreFile(tenantId: string, vectorStoreId: string, fileId: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const result = await transaction
        .deleteFrom('knowledge_store_files')
        .where('tenant_id', '=', tenantId)
        .where('vector_store_id', '=', vectorStoreId)
        .where('file_id', '=', fileId)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      const store = await this.indexedStore(transaction, vectorStoreId);
      if (store) await removeChunks(transaction, this.index, store, [fileId]);
      return true;
    });
  }

  async storesOfFile(tenantId: string, fileId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('knowledge_store_files')
      .select('vector_store_id')
      .where('tenant_id', '=', tenantId)
      .where('file_id', '=', fileId)
      .execute();
    return rows.map((row) => row.vector_store_id);
  }

  async inProgressFiles(limit: number): Promise<VectorStoreFileRecord[]> {
    const rows = await this.db.selectFrom('knowledge_store_files').selectAll().where('status', '=', 'in_progress').orderBy('created_at').limit(limit).execute();
    return rows.map(storeFileFromRow);
  }

  async fileCounts(vectorStoreId: string, batchId?: string): Promise<FileCounts> {
    let select = this.db
      .selectFrom('knowledge_store_files')
      .select(['status', (builder) => builder.fn.countAll<number | string>().as('count')])
      .where('vector_store_id', '=', vectorStoreId);
    if (batchId !== undefined) select = select.where('batch_id', '=', batchId);
    const counts: FileCounts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
    for (const row of await select.groupBy('status').execute()) {
      const count = Number(row.count);
      if (row.status in counts) counts[row.status as VectorStoreFileStatus] = count;
      counts.total += count;
    }
    return counts;
  }

  async usageBytes(vectorStoreId: string): Promise<number> {
    const row = await this.db
      .selectFrom('knowledge_store_files')
      .select((builder) => builder.fn.sum<number | string | null>('usage_bytes').as('total'))
      .where('vector_store_id', '=', vectorStoreId)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  async putFileBatch(batch: FileBatchRecord): Promise<void> {
    await this.db
      .insertInto('knowledge_file_batches')
      .values({ id: batch.id, vector_store_id: batch.vectorStoreId, tenant_id: batch.tenantId, created_at: batch.createdAt })
      .execute();
  }

  async getFileBatch(tenantId: string, vectorStoreId: string, id: string): Promise<FileBatchRecord | undefined> {
    const row = await this.db
      .selectFrom('knowledge_file_batches')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('vector_store_id', '=', vectorStoreId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { id: row.id, vectorStoreId: row.vector_store_id, tenantId: row.tenant_id, createdAt: Number(row.created_at) };
  }

  async cancelFileBatch(vectorStoreId: string, batchId: string, at: number): Promise<number> {
    const result = await this.db
      .updateTable('knowledge_store_files')
      .set({ status: 'cancelled', updated_at: at })
      .where('vector_store_id', '=', vectorStoreId)
      .where('batch_id', '=', batchId)
      .where('status', '=', 'in_progress')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async termStatistics(vectorStoreId: string, stems: readonly string[]): Promise<TermStatistics> {
    const row = await this.db
      .selectFrom('knowledge_vector_stores')
      .select(['seq', 'chunk_count', 'term_count'])
      .where('id', '=', vectorStoreId)
      .executeTakeFirst();
    if (!row) return { chunks: 0, terms: 0, documentFrequency: new Map() };
    const documentFrequency = await this.index.documentFrequency(this.db, { id: vectorStoreId, seq: Number(row.seq) }, stems);
    return { chunks: Number(row.chunk_count), terms: Number(row.term_count), documentFrequency };
  }

  async matchTerms(vectorStoreId: string, terms: readonly MatchTerm[], limit: number | undefined): Promise<ScoredChunk[]> {
    const row = await this.db
      .selectFrom('knowledge_vector_stores')
      .select(['seq', 'chunk_count', 'term_count'])
      .where('id', '=', vectorStoreId)
      .executeTakeFirst();
    if (!row) return [];
    return this.index.match(this.db, { id: vectorStoreId, seq: Number(row.seq) }, terms, limit, {
      chunks: Number(row.chunk_count),
      terms: Number(row.term_count),
    });
  }

  async chunkRevision(vectorStoreId: string): Promise<{ revision: number; chunks: number } | undefined> {
    const row = await this.db.selectFrom('knowledge_vector_stores').select(['revision', 'chunk_count']).where('id', '=', vectorStoreId).executeTakeFirst();
    return row && { revision: Number(row.revision), chunks: Number(row.chunk_count) };
  }

  async chunkTermsAfter(
    vectorStoreId: string,
    afterId: number,
    limit: number,
  ): Promise<Array<{ id: number; fileId: string; length: number; counts: Record<string, number> }>> {
    const rows = await this.db
      .selectFrom('knowledge_chunks')
      .select(['id', 'file_id', 'term_count', 'term_counts'])
      .where('vector_store_id', '=', vectorStoreId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      fileId: row.file_id,
      length: Number(row.term_count),
      counts: JSON.parse(row.term_counts) as Record<string, number>,
    }));
  }

  async getChunks(chunkIds: readonly number[]): Promise<ChunkRecord[]> {
    if (chunkIds.length === 0) return [];
    const rows = await this.db.selectFrom('knowledge_chunks').select(['id', 'file_id', 'chunk_index', 'text']).where('id', 'in', chunkIds).execute();
    return rows.map((row) => ({ id: Number(row.id), fileId: row.file_id, index: row.chunk_index, text: row.text }));
  }

  async describeChunks(
    vectorStoreId: string,
    chunkIds: readonly number[],
  ): Promise<Array<ChunkRecord & { filename: string; attributes: Record<string, AttributeValue> }>> {
    if (chunkIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('knowledge_chunks as c')
      .leftJoin('knowledge_files as f', 'f.id', 'c.file_id')
      .leftJoin('knowledge_store_files as s', (join) => join.onRef('s.vector_store_id', '=', 'c.vector_store_id').onRef('s.file_id', '=', 'c.file_id'))
      .select(['c.id', 'c.file_id', 'c.chunk_index', 'c.text', 'f.filename', 's.attributes'])
      .where('c.vector_store_id', '=', vectorStoreId)
      .where('c.id', 'in', chunkIds)
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      fileId: row.file_id,
      index: row.chunk_index,
      text: row.text,
      filename: row.filename ?? '',
      attributes: row.attributes === null ? {} : (JSON.parse(row.attributes) as Record<string, AttributeValue>),
    }));
  }

  async fileChunks(vectorStoreId: string, fileId: string): Promise<ChunkRecord[]> {
    const rows = await this.db
      .selectFrom('knowledge_chunks')
      .select(['id', 'file_id', 'chunk_index', 'text'])
      .where('vector_store_id', '=', vectorStoreId)
      .where('file_id', '=', fileId)
      .orderBy('chunk_index')
      .execute();
    return rows.map((row) => ({ id: Number(row.id), fileId: row.file_id, index: row.chunk_index, text: row.text }));
  }

  async embeddings(vectorStoreId: string): Promise<Array<{ chunkId: number; fileId: string; embedding: Float32Array }>> {
    const rows = await this.db
      .selectFrom('knowledge_chunks')
      .select(['id', 'file_id', 'embedding'])
      .where('vector_store_id', '=', vectorStoreId)
      .where('embedding', 'is not', null)
      .execute();
    return rows.map((row) => {
      const bytes = row.embedding!;
      const copy = new Uint8Array(bytes.byteLength);
      copy.set(bytes);
      return { chunkId: Number(row.id), fileId: row.file_id, embedding: new Float32Array(copy.buffer) };
    });
  }

  private async indexedStore(transaction: Transaction<Database>, vectorStoreId: string): Promise<IndexedStore | undefined> {
    const row = await transaction.selectFrom('knowledge_vector_stores').select('seq').where('id', '=', vectorStoreId).executeTakeFirst();
    return row && { id: vectorStoreId, seq: Number(row.seq) };
  }
}

function storeFromRow(row: Selectable<KnowledgeVectorStoresTable>): VectorStoreRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    createdAt: Number(row.created_at),
    lastActiveAt: Number(row.last_active_at),
    expiresAfterDays: row.expires_after_days === null ? null : Number(row.expires_after_days),
  };
}

function storeFileToRow(file: VectorStoreFileRecord): KnowledgeStoreFilesTable {
  return {
    vector_store_id: file.vectorStoreId,
    file_id: file.fileId,
    tenant_id: file.tenantId,
    key_id: file.keyId,
    batch_id: file.batchId,
    status: file.status,
    last_error: file.lastError === null ? null : JSON.stringify(file.lastError),
    attributes: JSON.stringify(file.attributes),
    chunking: JSON.stringify(file.chunking),
    usage_bytes: file.usageBytes,
    created_at: file.createdAt,
    updated_at: file.updatedAt,
  };
}

function storeFileFromRow(row: Selectable<KnowledgeStoreFilesTable>): VectorStoreFileRecord {
  return {
    vectorStoreId: row.vector_store_id,
    fileId: row.file_id,
    tenantId: row.tenant_id,
    keyId: row.key_id,
    batchId: row.batch_id,
    status: row.status as VectorStoreFileStatus,
    lastError: row.last_error === null ? null : (JSON.parse(row.last_error) as { code: string; message: string }),
    attributes: JSON.parse(row.attributes) as Record<string, AttributeValue>,
    chunking: JSON.parse(row.chunking) as VectorStoreFileRecord['chunking'],
    usageBytes: Number(row.usage_bytes),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
