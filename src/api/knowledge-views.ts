/** Vector stores, their files and batches as OpenAI's API shows them (times in unix seconds). */
import type { FileBatchRecord, FileCounts, VectorStoreFileRecord, VectorStoreRecord } from '../core/vector-store-store.js';

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** A store with its counts, bytes and status. */
export function vectorStoreView(record: VectorStoreRecord, summary: { fileCounts: FileCounts; usageBytes: number; status: string }): object {
  return {
    id: record.id,
    object: 'vector_store',
    created_at: seconds(record.createdAt),
    name: record.name,
    description: record.description,
    usage_bytes: summary.usageBytes,
    file_counts: summary.fileCounts,
    status: summary.status,
    expires_after: record.expiresAfterDays === null ? null : { anchor: 'last_active_at', days: record.expiresAfterDays },
    expires_at: record.expiresAfterDays === null ? null : seconds(record.lastActiveAt + record.expiresAfterDays * 86_400_000),
    last_active_at: seconds(record.lastActiveAt),
    metadata: record.metadata,
  };
}

export function vectorStoreFileView(entry: VectorStoreFileRecord): object {
  return {
    id: entry.fileId,
    object: 'vector_store.file',
    usage_bytes: entry.usageBytes,
    created_at: seconds(entry.createdAt),
    vector_store_id: entry.vectorStoreId,
    status: entry.status,
    last_error: entry.lastError,
    attributes: entry.attributes,
    chunking_strategy: {
      type: 'static',
      static: { max_chunk_size_tokens: entry.chunking.maxChunkSizeTokens, chunk_overlap_tokens: entry.chunking.chunkOverlapTokens },
    },
  };
}

/** A batch is in progress while any of its files is, then cancelled if any was cancelled, failed if all failed, else completed. */
export function fileBatchView(batch: FileBatchRecord, counts: FileCounts): object {
  const status =
    counts.in_progress > 0 ? 'in_progress' : counts.cancelled > 0 ? 'cancelled' : counts.total > 0 && counts.failed === counts.total ? 'failed' : 'completed';
  return {
    id: batch.id,
    object: 'vector_store.files_batch',
    created_at: seconds(batch.createdAt),
    vector_store_id: batch.vectorStoreId,
    status,
    file_counts: counts,
  };
}

/** A list page in OpenAI's cursor shape, from one more row than asked. */
export function cursorPage<T>(rows: readonly T[], limit: number, view: (row: T) => object, idOf: (row: T) => string): object {
  const data = rows.slice(0, limit);
  return {
    object: 'list',
    data: data.map(view),
    first_id: data.length > 0 ? idOf(data[0]!) : null,
    last_id: data.length > 0 ? idOf(data.at(-1)!) : null,
    has_more: rows.length > limit,
  };
}
