/**
 * How often each term occurs in each chunk of a store, in memory, for the common terms of a pruned
 * search (lexical-search.ts): a term-id dictionary and, per chunk, its sorted term ids and counts
 * (about 6 bytes a distinct term of a chunk: 3.6 MB at SciFact's 5k abstracts). It follows the
 * store by its chunk and term counts: new chunks (ids only grow) are read in as they appear; chunks
 * deleted meanwhile are never asked for again (FTS5 no longer finds them) and go at the next full
 * read, made when the cache holds twice the chunks the store has.
 */
import type { VectorStoreStore } from '../../core/vector-store-store.js';

interface ChunkTerms {
  length: number;
  ids: Uint32Array;
  counts: Uint16Array;
}

interface StoreTerms {
  version: string;
  lastChunkId: number;
  dictionary: Map<string, number>;
  chunks: Map<number, ChunkTerms>;
}

/** Chunks read per query while catching up. */
const readBatch = 5_000;

export class TermCountCache {
  private readonly stores = new Map<string, StoreTerms>();

  constructor(private readonly source: Pick<VectorStoreStore, 'chunkTermsAfter'>) {}

  /**
   * For some chunks, their length and the count of each of `stems`; `version` is the store's
   * chunk and term counts, read with the search's statistics.
   */
  async counts(
    vectorStoreId: string,
    version: string,
    chunkIds: readonly number[],
    stems: readonly string[],
    chunkCount: number,
  ): Promise<Map<number, { length: number; counts: Map<string, number> }>> {
    const terms = await this.current(vectorStoreId, version, chunkCount);
    const wanted = stems.map((stem) => ({ stem, id: terms.dictionary.get(stem) }));
    const out = new Map<number, { length: number; counts: Map<string, number> }>();
    for (const chunkId of chunkIds) {
      const chunk = terms.chunks.get(chunkId);
      if (!chunk) continue;
      const counts = new Map<string, number>();
      for (const { stem, id } of wanted) {
        if (id === undefined) continue;
        const at = search(chunk.ids, id);
        if (at >= 0) counts.set(stem, chunk.counts[at]!);
      }
      out.set(chunkId, { length: chunk.length, counts });
    }
    return out;
  }

  private async current(vectorStoreId: string, version: string, chunkCount: number): Promise<StoreTerms> {
    let terms = this.stores.get(vectorStoreId);
    if (!terms || terms.chunks.size > 2 * chunkCount + 1000) {
      terms = { version: '', lastChunkId: 0, dictionary: new Map(), chunks: new Map() };
      this.stores.set(vectorStoreId, terms);
    }
    if (terms.version === version) return terms;
    for (;;) {
      const rows = await this.source.chunkTermsAfter(vectorStoreId, terms.lastChunkId, readBatch);
      for (const row of rows) {
        const entries = Object.entries(row.counts).map(([stem, count]) => {
          let id = terms.dictionary.get(stem);
          if (id === undefined) terms.dictionary.set(stem, (id = terms.dictionary.size));
          return [id, count] as const;
        });
        entries.sort((left, right) => left[0] - right[0]);
        terms.chunks.set(row.id, {
          length: row.length,
          ids: Uint32Array.from(entries, (entry) => entry[0]),
          counts: Uint16Array.from(entries, (entry) => Math.min(entry[1], 65_535)),
        });
        terms.lastChunkId = Math.max(terms.lastChunkId, row.id);
      }
      if (rows.length < readBatch) break;
    }
    terms.version = version;
    return terms;
  }
}

/** Index of `value` in a sorted array, or -1. */
function search(values: Uint32Array, value: number): number {
  let low = 0;
  let high = values.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const at = values[middle]!;
    if (at === value) return middle;
    if (at < value) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
