/**
 * The per-candidate figures of one `order` call, in typed arrays reused from call to call so that
 * ordering 64 candidates allocates nothing but the order it returns (issue 24: the router's cost).
 */

/** Scratch space for scoring candidates: estimates, loads, ranks, index slots and matched blocks. */
export class CandidateScores {
  /** Estimated milliseconds to the first token. */
  ms = new Float64Array(64);
  /** Outstanding tokens (or requests) over weight: the tie-break. */
  load = new Float64Array(64);
  /** Place in this call's rotation: the last tie-break. */
  rank = new Int32Array(64);
  /** Tokens of the prompt the candidate must compute. */
  uncached = new Float64Array(64);
  /** Candidates' slots in the prefix index. */
  slots = new Int32Array(64);
  /** Leading prefix keys each candidate holds. */
  matched = new Int32Array(64);
  /** Requests in flight on each candidate, and its weight (for the load cap). */
  inFlight = new Float64Array(64);
  weight = new Float64Array(64);
  /** Candidate positions, sorted by `sort`. */
  private sorted = new Int32Array(64);
  /** The same for the NaN case (sorted by `Array.prototype.sort`). */
  private readonly positions: number[] = [];
  private readonly compare = (a: number, b: number): number => this.ms[a]! - this.ms[b]! || this.load[a]! - this.load[b]! || this.rank[a]! - this.rank[b]!;

  /** Room for `count` candidates. */
  reserve(count: number): void {
    if (this.ms.length >= count) return;
    const size = Math.max(count, this.ms.length * 2);
    this.ms = new Float64Array(size);
    this.load = new Float64Array(size);
    this.rank = new Int32Array(size);
    this.uncached = new Float64Array(size);
    this.slots = new Int32Array(size);
    this.matched = new Int32Array(size);
    this.inFlight = new Float64Array(size);
    this.weight = new Float64Array(size);
    this.sorted = new Int32Array(size);
  }

  /**
   * Positions 0..count-1, lowest estimate first; equal estimates by load, then rank. Ranks differ,
   * so when no figure is NaN the comparison is a strict total order and any sort gives the one
   * order: a binary insertion sort over the typed arrays (about n log n comparisons, no call per
   * comparison, the shifts a tight copy). A NaN (a figure gone wrong) makes the comparison
   * inconsistent, and then Array.prototype.sort over positions in candidate order gives what
   * sorting the candidates themselves always gave. Valid until the next call.
   */
  sort(count: number): Int32Array | number[] {
    const { ms, load, rank } = this;
    for (let index = 0; index < count; index += 1) {
      if (Number.isNaN(ms[index]) || Number.isNaN(load[index])) return this.sortedByArray(count);
    }
    const sorted = this.sorted;
    for (let index = 0; index < count; index += 1) {
      const movingMs = ms[index]!;
      const movingLoad = load[index]!;
      const movingRank = rank[index]!;
      // The first place whose candidate comes after the moving one.
      let low = 0;
      let high = index;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const other = sorted[middle]!;
        const otherMs = ms[other]!;
        const before = otherMs < movingMs || (otherMs === movingMs && (load[other]! < movingLoad || (load[other] === movingLoad && rank[other]! < movingRank)));
        if (before) low = middle + 1;
        else high = middle;
      }
      for (let at = index; at > low; at -= 1) sorted[at] = sorted[at - 1]!;
      sorted[low] = index;
    }
    return sorted;
  }

  private sortedByArray(count: number): number[] {
    const positions = this.positions;
    positions.length = count;
    for (let index = 0; index < count; index += 1) positions[index] = index;
    return positions.sort(this.compare);
  }
}
