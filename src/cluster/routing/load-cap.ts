/**
 * Bounded load for estimated-TTFT routing (issue 24, no hot spots; decision 0025). Ordering by
 * estimated time alone balances work, not requests: with one shared system prompt every replica
 * comes to hold it, and the decode-pressure term steers long prompts away from replicas with many
 * decodes while short ones still fit there, so a few replicas serve most of the short requests
 * (in the simulator, the busiest 1.41x the mean share of requests at 85% load, 1.65x at worst,
 * with prompt tokens even). As consistent hashing with bounded loads caps a replica at `cap`
 * times the mean (KubeAI's CHWBL, decision 0006): when the first candidate holds some of the
 * prompt's leading blocks and has more requests in flight than `cap` times the pool's mean
 * (counting this one, per weight), the best-ranked candidate within the cap that holds at least
 * as many of those blocks goes first instead; the rest of the order stays. So the cap spreads a
 * shared prefix over the replicas holding it and never costs a cache hit. It leaves prompts that
 * no replica holds alone: capping those too cost mean TTFT 9% at 85% load on Mooncake (19% on a
 * mixed pool), and capping the cache affinity itself, as llm-d's and SGLang's thresholds do,
 * up to 2.6x at 70%.
 */

/** The per-candidate figures the cap reads, by candidate position. */
export interface LoadCapInputs {
  /** Requests in flight on each candidate (before this one). */
  readonly inFlight: ArrayLike<number>;
  /** Each candidate's weight (its share of the pool's speed; positive). */
  readonly weight: ArrayLike<number>;
  /** Leading blocks of this prompt each candidate holds. */
  readonly matched: ArrayLike<number>;
}

/**
 * The place in `sorted` (candidate positions, best first) of the candidate to put first: 0 when
 * the first holds none of the prompt's blocks, when it is within the cap, or when no candidate
 * within the cap holds as many leading blocks. A
 * candidate is within the cap when its requests in flight with this one, over its weight, are at
 * most `cap` times the pool's requests in flight with this one over the pool's weight. A `cap`
 * that is not a positive finite number turns the cap off.
 */
export function cappedPlace(sorted: ArrayLike<number>, count: number, inputs: LoadCapInputs, cap: number): number {
  if (!(cap > 0) || !Number.isFinite(cap) || count < 2) return 0;
  const { inFlight, weight, matched } = inputs;
  let requests = 0;
  let weights = 0;
  for (let position = 0; position < count; position += 1) {
    requests += inFlight[position]!;
    weights += weight[position]!;
  }
  const limit = (cap * (requests + 1)) / weights;
  const within = (position: number) => (inFlight[position]! + 1) / weight[position]! <= limit;
  const first = sorted[0]!;
  if (matched[first] === 0 || within(first)) return 0;
  for (let place = 1; place < count; place += 1) {
    const position = sorted[place]!;
    if (matched[position]! >= matched[first]! && within(position)) return place;
  }
  return 0;
}

/** Moves the candidate at `place` of `sorted` to the front, the ones before it one place back. */
export function promote(sorted: { [index: number]: number }, place: number): void {
  const moving = sorted[place]!;
  for (let at = place; at > 0; at -= 1) sorted[at] = sorted[at - 1]!;
  sorted[0] = moving;
}
