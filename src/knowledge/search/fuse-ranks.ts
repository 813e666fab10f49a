/**
 * Weighted reciprocal rank fusion (Cormack et al. 2009, with weights as OpenAI's
 * `hybrid_search.embedding_weight` and `text_weight`): a chunk scores weight / (60 + rank) in each
 * list it appears in, summed. Divided by the most a chunk can get (first in both), scores fall in
 * (0, 1], so a `score_threshold` means the same whatever the weights.
 */

/** The constant of RRF: how much the first ranks count above the rest. */
export const rrfConstant = 60;

/** One ranked list of ids, best first, and its weight. */
export interface RankedList<Id> {
  ids: readonly Id[];
  weight: number;
}

/** Ids by fused score, best first, with normalised scores. */
export function fuseRanks<Id>(lists: ReadonlyArray<RankedList<Id>>): Array<{ id: Id; score: number }> {
  const best = lists.reduce((sum, list) => sum + list.weight / (rrfConstant + 1), 0);
  const scores = new Map<Id, number>();
  for (const list of lists) {
    if (list.weight <= 0) continue;
    list.ids.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + list.weight / (rrfConstant + index + 1)));
  }
  return [...scores].map(([id, score]) => ({ id, score: best > 0 ? score / best : 0 })).sort((left, right) => right.score - left.score);
}
