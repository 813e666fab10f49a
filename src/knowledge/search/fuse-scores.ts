/**
 * Weighted fusion of normalised scores (a convex combination; Bruch, Gai and Ingber 2023 found it
 * beats rank fusion when the legs' scores carry information): each leg's scores are scaled to
 * [0, 1] by the min and max of its own list (min-max), a chunk scores the weighted sum over the
 * legs it is in (0 where it is not), divided by the sum of the weights, so scores fall in [0, 1].
 * Unlike RRF it keeps how far apart the leg put two chunks: a lexical first place far ahead of
 * the rest stays ahead of a vector leg whose scores are all close.
 */

/** One leg's hits, best first, with its own scores, and the leg's weight. */
export interface ScoredList<Id> {
  hits: ReadonlyArray<{ id: Id; score: number }>;
  weight: number;
}

/** Ids by fused score, best first. */
export function fuseScores<Id>(lists: ReadonlyArray<ScoredList<Id>>): Array<{ id: Id; score: number }> {
  const used = lists.filter((list) => list.weight > 0 && list.hits.length > 0);
  const total = lists.reduce((sum, list) => sum + Math.max(0, list.weight), 0);
  const scores = new Map<Id, number>();
  for (const list of used) {
    const top = list.hits[0]!.score;
    const bottom = list.hits.at(-1)!.score;
    const range = top - bottom;
    for (const hit of list.hits) {
      const normalised = range > 0 ? (hit.score - bottom) / range : 1;
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + list.weight * normalised);
    }
  }
  return [...scores].map(([id, score]) => ({ id, score: total > 0 ? score / total : 0 })).sort((left, right) => right.score - left.score);
}
