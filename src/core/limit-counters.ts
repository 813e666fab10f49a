/**
 * The counters behind limits and budgets. Admission is one atomic call that checks every counter
 * a request must fit and, only if all fit, adds to all of them; settlement is one call that
 * refunds or adds the difference. In-process by default (src/tenancy/), in Redis when several
 * control-plane processes share limits (src/store/redis/). One contract suite runs on both.
 */

/** One counter a request must fit in. */
export interface CounterCheck {
  /** The counter's name; unique per owner, limit and window (`{acme}:k:key_1:tokensPerDay:d2025-01-31`). */
  key: string;
  /** `window`: a sum that resets when its window ends. `concurrency`: leases held right now. */
  kind: 'window' | 'concurrency';
  /** The request is refused when value + amount would pass this. */
  limit: number;
  /** Added on admission (windows); always 1 for concurrency. */
  amount: number;
  /** Unix ms: when a window ends (its counter may be dropped after), or when a lease lapses if never released. */
  expiresAt: number;
  /**
   * A budget counter that starts from the ledger, never from zero: where it does not exist, the
   * reservation changes nothing and answers `unseeded` (the caller seeds it and tries again).
   */
  seed?: boolean;
}

/** The result of a reservation. */
export interface ReserveResult {
  ok: boolean;
  /** Index of the first check that did not fit; -1 when ok. */
  failed: number;
  /** Each counter's value: after adding when ok; as found when refused. */
  values: number[];
  /** Refused because the counter at `failed` must be seeded first (`CounterCheck.seed`); nothing was added. */
  unseeded?: boolean;
}

/** A settlement's change to one window counter. */
export interface CounterAdjustment {
  key: string;
  /** What was used minus what was reserved (negative: a refund). */
  delta: number;
  /**
   * What was used: charged instead of `delta` where the reservation was already released because
   * its process was taken for dead (Redis: its liveness key lapsed), so the counter stays exact.
   */
  used: number;
}

/** Shared counters. Implementations must make `reserve` atomic across every caller. */
export interface LimitCounters {
  /** Checks every counter and adds to all of them, or to none; `leaseId` names the concurrency lease. */
  reserve(leaseId: string, checks: readonly CounterCheck[], now: number): Promise<ReserveResult>;
  /**
   * Applies window deltas (to counters that still exist) and releases the lease on `concurrencyKeys`.
   * Every window counter the reservation took is passed, a delta of 0 included.
   */
  settle(leaseId: string, adjustments: readonly CounterAdjustment[], concurrencyKeys: readonly string[]): Promise<void>;
  /** Sets a window counter that does not exist yet (after a restart, from the ledger); no-op if it exists. */
  seed(key: string, value: number, expiresAt: number): Promise<void>;
  /** Deletes window counters (a budget added again starts from the ledger, not from a counter of its earlier life). */
  clear(keys: readonly string[]): Promise<void>;
  /** Current values (0 for absent counters); concurrency counters count live leases. */
  read(keys: readonly string[], now: number): Promise<number[]>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
}
