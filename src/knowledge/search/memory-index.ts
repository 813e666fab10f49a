/**
 * One vector store's lexical index in memory: per term, the chunks that hold it and how often
 * (postings in typed arrays, about 6 bytes a distinct term of a chunk), and per chunk its file and
 * length. A query is scored by BM25 exactly as FTS5 scores it (k1 1.2, b 0.75, idf floored at
 * 1e-6) by walking its terms' postings into one accumulator: no SQL, no statement to compile, and
 * no candidate cut-off to verify. Chunks are only ever added; a store whose chunks were deleted is
 * read again whole (store-index-cache.ts).
 */

export const k1 = 1.2;
export const b = 0.75;

/** A chunk and its BM25 score. */
export interface IndexHit {
  chunkId: number;
  fileId: string;
  score: number;
}

/** A query term found in the index, with its idf. */
export interface FoundTerm {
  stem: string;
  idf: number;
  documentFrequency: number;
}

class Postings {
  documents = new Int32Array(4);
  counts = new Uint16Array(4);
  length = 0;

  push(document: number, count: number): void {
    if (this.length === this.documents.length) {
      const documents = new Int32Array(this.length * 2);
      documents.set(this.documents);
      this.documents = documents;
      const counts = new Uint16Array(this.length * 2);
      counts.set(this.counts);
      this.counts = counts;
    }
    this.documents[this.length] = document;
    this.counts[this.length++] = Math.min(count, 65_535);
  }
}

export class MemoryIndex {
  private readonly postings = new Map<string, Postings>();
  private chunkIds: number[] = [];
  private fileIds: string[] = [];
  private lengths = new Float64Array(1024);
  private totalLength = 0;
  /** Scores of the query being ranked, by document number; zero between queries. */
  private scores = new Float64Array(1024);
  /** The highest chunk id added (chunks arrive in id order). */
  lastChunkId = 0;

  get size(): number {
    return this.chunkIds.length;
  }

  add(chunk: { id: number; fileId: string; length: number; counts: Readonly<Record<string, number>> }): void {
    const document = this.chunkIds.length;
    if (document === this.lengths.length) {
      const lengths = new Float64Array(document * 2);
      lengths.set(this.lengths);
      this.lengths = lengths;
      this.scores = new Float64Array(document * 2);
    }
    this.chunkIds.push(chunk.id);
    this.fileIds.push(chunk.fileId);
    this.lengths[document] = chunk.length;
    this.totalLength += chunk.length;
    for (const stem in chunk.counts) {
      let list = this.postings.get(stem);
      if (!list) this.postings.set(stem, (list = new Postings()));
      list.push(document, chunk.counts[stem]!);
    }
    this.lastChunkId = Math.max(this.lastChunkId, chunk.id);
  }

  /** The query's stems that some chunk holds, with FTS5's idf. */
  find(stems: Iterable<string>): FoundTerm[] {
    const chunks = this.size;
    const found: FoundTerm[] = [];
    for (const stem of stems) {
      const documentFrequency = this.postings.get(stem)?.length ?? 0;
      if (documentFrequency === 0) continue;
      const idf = Math.max(1e-6, Math.log((chunks - documentFrequency + 0.5) / (documentFrequency + 0.5)));
      found.push({ stem, idf, documentFrequency });
    }
    return found;
  }

  /**
   * The best `limit` chunks by BM25 over `terms`, best first (ties by chunk id); only chunks of
   * files `allowed` passes, where given.
   */
  rank(terms: readonly FoundTerm[], limit: number, allowed?: (fileId: string) => boolean): IndexHit[] {
    const scores = this.scores;
    const lengths = this.lengths;
    const touched: number[] = [];
    const averageLength = this.size > 0 ? this.totalLength / this.size : 1;
    const base = k1 * (1 - b);
    const perTerm = (k1 * b) / averageLength;
    for (const term of terms) {
      const list = this.postings.get(term.stem);
      if (!list) continue;
      const { documents, counts } = list;
      const weight = term.idf * (k1 + 1);
      for (let index = 0; index < list.length; index += 1) {
        const document = documents[index]!;
        const count = counts[index]!;
        if (scores[document] === 0) touched.push(document);
        scores[document]! += (weight * count) / (count + base + perTerm * lengths[document]!);
      }
    }
    const hits = this.select(touched, limit, allowed).map((document) => ({
      chunkId: this.chunkIds[document]!,
      fileId: this.fileIds[document]!,
      score: scores[document]!,
    }));
    for (const document of touched) scores[document] = 0;
    return hits;
  }

  /** The `limit` best of the touched documents, best first, by a bounded min-heap. */
  private select(touched: readonly number[], limit: number, allowed: ((fileId: string) => boolean) | undefined): number[] {
    const scores = this.scores;
    const chunkIds = this.chunkIds;
    // Worse first: a lower score, or the same score and a higher chunk id.
    const worse = (left: number, right: number): boolean =>
      scores[left]! < scores[right]! || (scores[left] === scores[right] && chunkIds[left]! > chunkIds[right]!);
    const heap: number[] = [];
    const down = (from: number): void => {
      let at = from;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let least = at;
        if (left < heap.length && worse(heap[left]!, heap[least]!)) least = left;
        if (right < heap.length && worse(heap[right]!, heap[least]!)) least = right;
        if (least === at) return;
        [heap[at], heap[least]] = [heap[least]!, heap[at]!];
        at = least;
      }
    };
    for (const document of touched) {
      if (allowed && !allowed(this.fileIds[document]!)) continue;
      if (heap.length < limit) {
        heap.push(document);
        let at = heap.length - 1;
        while (at > 0) {
          const parent = (at - 1) >> 1;
          if (!worse(heap[at]!, heap[parent]!)) break;
          [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
          at = parent;
        }
      } else if (limit > 0 && worse(heap[0]!, document)) {
        heap[0] = document;
        down(0);
      }
    }
    return heap.sort((left, right) => (worse(left, right) ? 1 : worse(right, left) ? -1 : 0));
  }
}
