/**
 * Where a principal stands against its limits: each limit of its key and tenant, what is used
 * and left in the current window, and when that window ends. Built from the same plan admission
 * builds (`planTemplate`, its counters and windows) and read from the same counters, so what it
 * says is what admission would find: a request fits a limit when its amount is at most `remaining`
 * (admission refuses `used + amount > limit`).
 */
import type { LimitOwner, LimitName, PlannedCheck } from './limit-plan.js';

/** One limit's standing. Amounts are in the counter's units: requests, tokens, leases, or nano-USD for cost. */
export interface LimitStanding {
  owner: LimitOwner;
  name: LimitName;
  limit: number;
  used: number;
  /** `limit - used`, never below 0. */
  remaining: number;
  /** Unix ms when the window ends and `used` starts again from 0; null for concurrency (leases end with their requests). */
  resetsAt: number | null;
}

/** The standings of `checks`, whose counters hold `values` (`LimitCounters.read`). */
export function limitStandings(checks: readonly PlannedCheck[], values: readonly number[]): LimitStanding[] {
  return checks.map((check, index) => {
    const used = values[index] ?? 0;
    return {
      owner: check.owner,
      name: check.name,
      limit: check.limit,
      used,
      remaining: Math.max(0, check.limit - used),
      resetsAt: check.window ? check.window.end : null,
    };
  });
}
