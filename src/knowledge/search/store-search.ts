/**
 * Search in a vector store: BM25 always (lexical-search.ts); with an embedding model, also the
 * chunks nearest the query's embedding (exact cosine over the store's vectors, cached per store),
 * fused by weighted reciprocal rank fusion (fuse-ranks.ts). Scores are normalised to [0, 1]:
 * BM25 over the most the query's terms could give, RRF over the most a first place in every leg
 * gives; `scoreThreshold` applies to them. Attribute filters narrow both legs to matching files.
 */
import { NimbusError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { AttributeValue, ScoredChunk } from '../../core/vector-store-store.js';
import type { KnowledgeStore } from '../../core/knowledge-store.js';
import type { VectorStores } from '../vector-stores.js';
import { matchesFilter, type AttributeFilter } from './attribute-filter.js';
import { fuseRanks } from './fuse-ranks.js';
import { fuseScores } from './fuse-scores.js';
import { lexicalSearch } from './lexical-search.js';
import { rerank, type RerankerFor, type RerankSpec } from './rerank.js';
import { StoreIndexCache } from './store-index-cache.js';

/** A search as the API asks it. */
export interface SearchSpec {
  queries: readonly string[];
  filter?: AttributeFilter | undefined;
  maxResults: number;
  scoreThreshold: number;
  /** Weights of the legs; the embedding leg runs only with an embedding model and a weight above 0. */
  embeddingWeight: number;
  textWeight: number;
  /** How the legs are fused: reciprocal ranks (fuse-ranks.ts, the default) or normalised scores (fuse-scores.ts). */
  fusion?: Fusion | undefined;
  /** Rescoring of the best fused chunks by a served model (rerank.ts); none by default. */
  rerank?: RerankSpec | undefined;
  /** The billed call this search is part of (a response's file_search): its query embedding's ledger row names it as parent. */
  parentId?: string | undefined;
}

/** The hybrid fusions a search can ask for. */
export type Fusion = 'scores' | 'rrf';

/**
 * Reciprocal ranks: at equal weights on SciFact with a hashed TF-IDF embedder they measured 0.6697
 * against 0.6673 for normalised scores (bench/knowledge/README.md), so the default stays RRF.
 */
export const defaultFusion: Fusion = 'rrf';

/** One result: a chunk with its file, score and attributes. */
export interface SearchHit {
  fileId: string;
  filename: string;
  score: number;
  attributes: Record<string, AttributeValue>;
  text: string;
}

/** Chunks ranked per leg before fusion, at least. */
const fusionDepth = 50;

export class StoreSearch {
  private readonly vectors = new Map<string, { generation: number; chunks: Array<{ chunkId: number; fileId: string; embedding: Float32Array }> }>();

  private readonly indexes: StoreIndexCache;

  constructor(
    private readonly store: KnowledgeStore,
    private readonly stores: VectorStores,
    /** The reranking models' embedders; without it a search asking to rerank is refused. */
    private readonly rerankerFor?: RerankerFor,
  ) {
    this.indexes = new StoreIndexCache(store);
  }

  async search(principal: Principal, vectorStoreId: string, spec: SearchSpec): Promise<SearchHit[]> {
    const record = await this.stores.get(principal.tenantId, vectorStoreId);
    void this.stores.touch(record).catch(() => undefined);
    const attributes = spec.filter ? await this.store.storeFileAttributes(vectorStoreId) : undefined;
    const allowed = attributes && new Set(attributes.filter((entry) => matchesFilter(spec.filter!, entry.attributes)).map((entry) => entry.fileId));
    const text = spec.queries.join(' ');
    const embedder = this.stores.embedder;
    const hybrid = embedder !== undefined && spec.embeddingWeight > 0;
    const reranker = spec.rerank && this.reranker(spec.rerank.model);
    const wanted = Math.max(spec.maxResults, spec.rerank?.topN ?? 0);
    const depth = hybrid ? Math.max(wanted, fusionDepth) : wanted;
    const lexical = spec.textWeight > 0 || !hybrid ? await lexicalSearch(this.indexes, vectorStoreId, text, depth, allowed) : undefined;
    let ranked: Array<{ chunk: ScoredChunk; score: number }>;
    if (hybrid) {
      const [query] = await embedder.embed([text], principal, undefined, spec.parentId);
      const nearest = await this.nearest(vectorStoreId, query!, depth, allowed);
      const byId = new Map<number, ScoredChunk>();
      for (const hit of [...(lexical?.hits ?? []), ...nearest]) byId.set(hit.chunkId, hit);
      const legs = [
        { hits: (lexical?.hits ?? []).map((hit) => ({ id: hit.chunkId, score: hit.score })), weight: spec.textWeight },
        { hits: nearest.map((hit) => ({ id: hit.chunkId, score: hit.score })), weight: spec.embeddingWeight },
      ];
      const fused =
        (spec.fusion ?? defaultFusion) === 'rrf'
          ? fuseRanks(legs.map((leg) => ({ ids: leg.hits.map((hit) => hit.id), weight: leg.weight })))
          : fuseScores(legs);
      ranked = fused.map((hit) => ({ chunk: byId.get(hit.id)!, score: hit.score }));
    } else {
      const maxScore = lexical?.maxScore ?? 0;
      ranked = (lexical?.hits ?? []).map((hit) => ({ chunk: hit, score: maxScore > 0 ? hit.score / maxScore : 0 }));
    }
    if (reranker) {
      // The reranker's scores replace the fused ones, so the threshold applies after it.
      const candidates = await this.describe(vectorStoreId, ranked.slice(0, spec.rerank!.topN));
      const rescored = await rerank(reranker, principal, text, candidates, spec.parentId);
      return rescored.filter((hit) => hit.score >= spec.scoreThreshold).slice(0, spec.maxResults);
    }
    const kept = ranked.filter((hit) => hit.score >= spec.scoreThreshold).slice(0, spec.maxResults);
    return this.describe(vectorStoreId, kept);
  }

  private reranker(model: string) {
    if (!this.rerankerFor)
      throw new NimbusError('invalid_value', 'This server cannot rerank: no reranking models are wired.', { param: 'ranking_options.rerank' });
    return this.rerankerFor(model);
  }

  /** The chunks nearest a unit vector by cosine, best first. */
  private async nearest(vectorStoreId: string, query: Float32Array, limit: number, allowed: ReadonlySet<string> | undefined): Promise<ScoredChunk[]> {
    const generation = this.stores.generation(vectorStoreId);
    let cached = this.vectors.get(vectorStoreId);
    if (!cached || cached.generation !== generation) {
      cached = { generation, chunks: await this.store.embeddings(vectorStoreId) };
      this.vectors.set(vectorStoreId, cached);
    }
    const scored: ScoredChunk[] = [];
    for (const chunk of cached.chunks) {
      if (allowed && !allowed.has(chunk.fileId)) continue;
      const vector = chunk.embedding;
      if (vector.length !== query.length) continue;
      let dot = 0;
      for (let index = 0; index < vector.length; index += 1) dot += vector[index]! * query[index]!;
      scored.push({ chunkId: chunk.chunkId, fileId: chunk.fileId, score: dot });
    }
    return scored.sort((left, right) => right.score - left.score).slice(0, limit);
  }

  /** Adds each hit's text, file name and attributes, in one read. */
  private async describe(vectorStoreId: string, hits: ReadonlyArray<{ chunk: ScoredChunk; score: number }>): Promise<SearchHit[]> {
    const chunks = new Map(
      (
        await this.store.describeChunks(
          vectorStoreId,
          hits.map((hit) => hit.chunk.chunkId),
        )
      ).map((chunk) => [chunk.id, chunk]),
    );
    return hits.map((hit) => {
      const chunk = chunks.get(hit.chunk.chunkId);
      return { fileId: hit.chunk.fileId, filename: chunk?.filename ?? '', score: hit.score, attributes: chunk?.attributes ?? {}, text: chunk?.text ?? '' };
    });
  }
}
