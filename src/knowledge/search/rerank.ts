/**
 * Optional reranking by a served model (`ranking_options.rerank`, a Nimbus extension): the best
 * `topN` fused chunks are rescored by the cosine between the reranking model's embedding of the
 * query and of each chunk's text, and ordered by it; the score becomes (1 + cosine) / 2, so it
 * stays in [0, 1] for `score_threshold`. The embeddings are billed calls on the one accounting
 * path (ledger rows of kind `embedding`, to the key that searches), like the hybrid leg's.
 *
 * It is a second opinion from another embedding model (a bi-encoder), not a cross-encoder that
 * reads query and chunk together: Nimbus serves no model kind for that yet. Its quality is the
 * reranking model's; stories260K's embeddings carry no meaning, so with it only the mechanics are
 * tested (test/vector-stores-rerank.test.ts).
 */
import type { Principal } from '../../core/principal.js';
import type { ChunkEmbedder } from '../chunk-embedder.js';

/** A search's reranking: the served model and how many fused chunks it rescores (at most that many come back). */
export interface RerankSpec {
  model: string;
  topN: number;
}

/** Makes the embedder that bills a reranking model's calls (main.ts wires the accounting path). */
export type RerankerFor = (model: string) => ChunkEmbedder;

/** `hits` (with their texts) rescored by `reranker` against `query`, best first. */
export async function rerank<Hit extends { text: string; score: number }>(
  reranker: ChunkEmbedder,
  principal: Principal,
  query: string,
  hits: readonly Hit[],
  parentId?: string,
): Promise<Hit[]> {
  reranker.authorize(principal);
  if (hits.length === 0) return [];
  const [queryVector, ...vectors] = await reranker.embed([query, ...hits.map((hit) => hit.text)], principal, undefined, parentId);
  return hits.map((hit, index) => ({ ...hit, score: (1 + cosine(queryVector!, vectors[index]!)) / 2 })).sort((left, right) => right.score - left.score);
}

/** The dot product of two unit vectors (0 when their lengths differ). */
function cosine(left: Float32Array, right: Float32Array): number {
  if (left.length !== right.length) return 0;
  let dot = 0;
  for (let index = 0; index < left.length; index += 1) dot += left[index]! * right[index]!;
  return Math.max(-1, Math.min(1, dot));
}
