/**
 * Each vector store's lexical index in memory (memory-index.ts), kept current with the store
 * through its revision (bumped with every change to its chunks, in any process sharing the
 * database): a search reads the revision, and when it moved, the chunks added since (ids only
 * grow). Chunks are never taken out of a copy: when the copy holds more chunks than the store
 * (some were deleted), it is read again whole. The stored chunks' term counts are the source, so
 * a restart or another process builds the same index.
 */
import type { VectorStoreStore } from '../../core/vector-store-store.js';
import { MemoryIndex } from './memory-index.js';

type Source = Pick<VectorStoreStore, 'chunkRevision' | 'chunkTermsAfter'>;

/** Chunks read per query while catching up. */
const readBatch = 5_000;
/** Catch-up rounds before a copy is used as it is (writes racing the reads); the next search checks again. */
const maxRounds = 4;

export class StoreIndexCache {
  private readonly copies = new Map<string, { revision: number; index: MemoryIndex }>();

  constructor(private readonly source: Source) {}

  /** The store's index as of now; undefined when the store is gone. */
  async current(vectorStoreId: string): Promise<MemoryIndex | undefined> {
    let state = await this.source.chunkRevision(vectorStoreId);
    if (!state) {
      this.copies.delete(vectorStoreId);
      return undefined;
    }
    let copy = this.copies.get(vectorStoreId);
    if (copy?.revision === state.revision) return copy.index;
    let whole = !copy || copy.index.size > state.chunks;
    for (let round = 0; round < maxRounds; round += 1) {
      if (whole || !copy) copy = { revision: -1, index: new MemoryIndex() };
      await this.catchUp(vectorStoreId, copy.index);
      const after = await this.source.chunkRevision(vectorStoreId);
      if (!after) return undefined;
      if (after.revision === state.revision) {
        // Nothing changed while reading: current if it holds exactly the store's chunks; else some
        // were deleted (or, on PostgreSQL, committed out of id order) and it is read again whole.
        if (copy.index.size === after.chunks) {
          copy.revision = after.revision;
          break;
        }
        whole = true;
      } else whole = copy.index.size > after.chunks;
      state = after;
    }
    this.copies.set(vectorStoreId, copy!);
    return copy!.index;
  }

  private async catchUp(vectorStoreId: string, index: MemoryIndex): Promise<void> {
    for (;;) {
      const rows = await this.source.chunkTermsAfter(vectorStoreId, index.lastChunkId, readBatch);
      for (const row of rows) index.add(row);
      if (rows.length < readBatch) return;
    }
  }
}
