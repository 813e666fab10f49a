/**
 * Writing and removing vector stores' chunks, a batch of files at a time: ingest completes up to
 * 16 files per transaction, and writing them with a few statements for the batch (the entries'
 * states, the chunks rows, the index rows, the store's corpus size) rather than several per file
 * and per chunk took most of the database's share of the ingest (SciFact: 7 statements a file).
 */
import { sql, type Transaction } from 'kysely';
import type { ChunkInput, VectorStoreStore } from '../core/vector-store-store.js';
import type { IndexedChunk, IndexedStore, LexicalIndex } from './lexical-index.js';
import type { Database } from './schema.js';

type Outcome = Parameters<VectorStoreStore['finishStoreFile']>[2];

/** One entry to finish. */
export interface FinishItem {
  vectorStoreId: string;
  fileId: string;
  outcome: Outcome;
}

/** Chunk rows per insert: 8 values each, under SQLite's and PostgreSQL's parameter limits. */
const rowsPerInsert = 500;

/** Finishes entries still in progress (others are left as they are): their chunks replace any they had. One answer each. */
export async function finishEntries(transaction: Transaction<Database>, index: LexicalIndex, items: readonly FinishItem[]): Promise<boolean[]> {
  const done = items.map(() => false);
  const byStore = new Map<string, number[]>();
  items.forEach((item, position) => (byStore.get(item.vectorStoreId) ?? byStore.set(item.vectorStoreId, []).get(item.vectorStoreId)!).push(position));
  for (const [vectorStoreId, positions] of byStore) {
    const row = await transaction.selectFrom('knowledge_vector_stores').select('seq').where('id', '=', vectorStoreId).executeTakeFirst();
    if (!row) continue;
    const store = { id: vectorStoreId, seq: Number(row.seq) };
    const fileIds = [...new Set(positions.map((position) => items[position]!.fileId))];
    const states = await transaction
      .selectFrom('knowledge_store_files')
      .select('file_id')
      .where('vector_store_id', '=', vectorStoreId)
      .where('file_id', 'in', fileIds)
      .where('status', '=', 'in_progress')
      .execute();
    const open = new Set(states.map((state) => state.file_id));
    // A file named twice in one batch is finished once, by its first item.
    const taken = positions.filter((position) => open.delete(items[position]!.fileId));
    if (taken.length === 0) continue;
    await removeChunks(
      transaction,
      index,
      store,
      taken.map((position) => items[position]!.fileId),
    );
    const completed = taken.filter((position) => items[position]!.outcome.status === 'completed');
    const bytes = await addChunks(
      transaction,
      index,
      store,
      completed.map((position) => {
        const item = items[position]!;
        return { fileId: item.fileId, chunks: item.outcome.status === 'completed' ? item.outcome.chunks : [] };
      }),
    );
    for (const position of taken) {
      const { fileId, outcome } = items[position]!;
      await transaction
        .updateTable('knowledge_store_files')
        .set({
          status: outcome.status,
          last_error: outcome.status === 'completed' || outcome.error === null ? null : JSON.stringify(outcome.error),
          usage_bytes: bytes.get(fileId) ?? 0,
          updated_at: outcome.at,
        })
        .where('vector_store_id', '=', vectorStoreId)
        .where('file_id', '=', fileId)
        .execute();
      done[position] = true;
    }
  }
  return done;
}

/** Takes files' chunks out of a store, its index and its corpus size. */
export async function removeChunks(transaction: Transaction<Database>, index: LexicalIndex, store: IndexedStore, fileIds: readonly string[]): Promise<void> {
  const rows = await transaction
    .selectFrom('knowledge_chunks')
    .select(['id', 'text', 'term_count', 'term_counts'])
    .where('vector_store_id', '=', store.id)
    .where('file_id', 'in', fileIds)
    .execute();
  if (rows.length === 0) return;
  const chunks: IndexedChunk[] = rows.map((row) => ({
    id: Number(row.id),
    text: row.text,
    length: Number(row.term_count),
    counts: JSON.parse(row.term_counts) as Record<string, number>,
  }));
  await index.remove(transaction, store, chunks);
  await transaction.deleteFrom('knowledge_chunks').where('vector_store_id', '=', store.id).where('file_id', 'in', fileIds).execute();
  await addToCorpus(transaction, store.id, -chunks.length, -chunks.reduce((sum, chunk) => sum + chunk.length, 0));
}

/** Writes files' chunks and indexes them; resolves to the bytes each file's chunk text takes. */
async function addChunks(
  transaction: Transaction<Database>,
  index: LexicalIndex,
  store: IndexedStore,
  files: ReadonlyArray<{ fileId: string; chunks: readonly ChunkInput[] }>,
): Promise<Map<string, number>> {
  const bytes = new Map<string, number>();
  const rows = files.flatMap(({ fileId, chunks }) =>
    chunks.map((input, chunkIndex) => {
      const counts: Record<string, number> = {};
      for (const term of input.terms) counts[term] = (counts[term] ?? 0) + 1;
      bytes.set(fileId, (bytes.get(fileId) ?? 0) + Buffer.byteLength(input.text));
      return {
        counts,
        length: input.terms.length,
        row: {
          vector_store_id: store.id,
          file_id: fileId,
          chunk_index: chunkIndex,
          text: input.text,
          tokens: input.tokens,
          term_count: input.terms.length,
          term_counts: JSON.stringify(counts),
          embedding: input.embedding ? new Uint8Array(input.embedding.buffer, input.embedding.byteOffset, input.embedding.byteLength) : null,
        },
      };
    }),
  );
  if (rows.length === 0) return bytes;
  const indexed: IndexedChunk[] = [];
  for (let start = 0; start < rows.length; start += rowsPerInsert) {
    const slice = rows.slice(start, start + rowsPerInsert);
    const ids = await transaction
      .insertInto('knowledge_chunks')
      .values(slice.map((entry) => entry.row))
      .returning(['id', 'file_id', 'chunk_index'])
      .execute();
    // Rows come back in no promised order: each is matched to its input by file and position.
    const idOf = new Map(ids.map((inserted) => [`${inserted.file_id}\u0000${inserted.chunk_index}`, Number(inserted.id)]));
    for (const entry of slice) {
      const id = idOf.get(`${entry.row.file_id}\u0000${entry.row.chunk_index}`)!;
      indexed.push({ id, text: entry.row.text, counts: entry.counts, length: entry.length });
    }
  }
  await index.add(transaction, store, indexed);
  await addToCorpus(
    transaction,
    store.id,
    indexed.length,
    indexed.reduce((sum, chunk) => sum + chunk.length, 0),
  );
  return bytes;
}

/** Moves a store's BM25 corpus size, and its revision (what in-memory copies of its index check). */
async function addToCorpus(transaction: Transaction<Database>, vectorStoreId: string, chunks: number, terms: number): Promise<void> {
  await transaction
    .updateTable('knowledge_vector_stores')
    .set({ chunk_count: sql`chunk_count + ${chunks}`, term_count: sql`term_count + ${terms}`, revision: sql`revision + 1` })
    .where('id', '=', vectorStoreId)
    .execute();
}
