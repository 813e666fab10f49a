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
  /** Candidate positions, sorted by `sort`. */
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
  }

  /**
   * Positions 0..count-1, lowest estimate first; equal estimates by load, then rank. Ranks differ,
   * so when no figure is NaN the comparison is a strict total order and any sort gives the one
   * order: an insertion sort over the typed arrays, with no call per comparison. A NaN (a figure
   * gone wrong) makes the comparison inconsistent, and then Array.prototype.sort over positions in
   * candidate order gives what sorting the candidates themselves always gave.
   */
  sort(count: number): readonly number[] {
    const positions = this.positions;
    if (positions.length > count) positions.length = count;
    let finite = true;
    for (let index = 0; index < count; index += 1) {
      positions[index] = index;
      if (Number.isNaN(this.ms[index]) || Number.isNaN(this.load[index])) finite = false;
    }
    if (!finite) return positions.sort(this.compare);
    const { ms, load, rank } = this;
    for (let index = 1; index < count; index += 1) {
      const moving = positions[index]!;
      const movingMs = ms[moving]!;
      const movingLoad = load[moving]!;
      const movingRank = rank[moving]!;
      let at = index - 1;
      for (; at >= 0; at -= 1) {
        const other = positions[at]!;
        const otherMs = ms[other]!;
        if (otherMs < movingMs || (otherMs === movingMs && (load[other]! < movingLoad || (load[other] === movingLoad && rank[other]! < movingRank)))) break;
        positions[at + 1] = other;
      }
      positions[at + 1] = moving;
    }
    return positions;
  }
}
