/**
 * Who leads the pool when several control planes share one store. One of them holds a lease row
 * (`pool_leases`, migration 0031) with an expiry and a fencing generation; only the holder runs
 * reconcile and autoscale. The holder renews it well before it expires; another takes it once it
 * has expired, with the next generation. Every placement write the leader makes carries its
 * `Fence` (the generation it holds), and the store refuses a write whose generation is not the
 * lease's (`FencedOut`): a leader that froze past its expiry and wakes up cannot place over its
 * successor, whatever it still believes. The rules are pure (`cluster/pool-lease-rules.ts`), the
 * loop is `pool/leader-election.ts`.
 */

/** The lease row. */
export interface LeaseRecord {
  /** What is led: `pool`. */
  name: string;
  /** The control plane holding it (`host/pid/random`). */
  holder: string;
  /** Grows by one each time the lease changes hands (or is taken again after it expired). */
  generation: number;
  /** Unix ms after which another control plane may take it. */
  expiresAt: number;
}

/** What a leader's placement writes carry: the lease and the generation it holds. */
export interface Fence {
  lease: string;
  generation: number;
}

/** A placement write refused because its fence is not the lease's generation: this control plane no longer leads. */
export class FencedOut extends Error {
  constructor(
    readonly fence: Fence,
    /** The lease's generation now; undefined when no lease exists. */
    readonly current: number | undefined,
  ) {
    super(
      `This control plane no longer leads the pool: its placement write carried lease generation ${fence.generation}, ` +
        `the lease is at ${current ?? 'none'}. The leader now places; this one follows.`,
    );
    this.name = 'FencedOut';
  }
}

/** The lease part of the pool's store. */
export interface LeaseStore {
  readLease(name: string): Promise<LeaseRecord | undefined>;
  /**
   * Writes `next` only where the lease is still exactly `expected` (undefined: no row yet):
   * compare and set, so two control planes taking an expired lease at once cannot both win.
   * Resolves to whether it was written.
   */
  swapLease(expected: LeaseRecord | undefined, next: LeaseRecord): Promise<boolean>;
}
