/**
 * What one evaluation changes, from the alerts firing in the store and the conditions the rules
 * found: new conditions fire (or fire again), those still holding are touched, firing alerts no
 * longer found resolve. Only kinds whose rule ran count: a kind whose input could not be read
 * this tick keeps its alerts as they are, rather than resolving them all on a failed read.
 */
import { alertKey, type AlertCondition, type AlertKind, type AlertRecord } from '../core/alerts.js';

/** The writes of one evaluation. */
export interface AlertPlan {
  /** New, or changed in what they say: `fireAlert` (a transition for new ones, an update for the rest). */
  fire: AlertCondition[];
  /** Still holding as stored: `touchAlerts`. */
  seen: string[];
  /** Firing, of a kind evaluated, and no longer found: `resolveAlert`. */
  resolve: string[];
}

/** Plans one evaluation. `found` has an entry for each kind whose rule ran (an empty list: nothing holds). */
export function planAlerts(firing: readonly AlertRecord[], found: ReadonlyMap<AlertKind, readonly AlertCondition[]>): AlertPlan {
  const stored = new Map(firing.map((record) => [record.key, record]));
  const plan: AlertPlan = { fire: [], seen: [], resolve: [] };
  const holding = new Set<string>();
  for (const conditions of found.values()) {
    for (const condition of conditions) {
      const key = alertKey(condition.kind, condition.subject);
      // Two conditions of one key in one evaluation (a rule listing a subject twice) are one alert.
      if (holding.has(key)) continue;
      holding.add(key);
      const record = stored.get(key);
      if (record && record.message === condition.message && record.link === condition.link && record.tenantId === condition.tenantId) plan.seen.push(key);
      else plan.fire.push(condition);
    }
  }
  for (const record of firing) if (found.has(record.kind) && !holding.has(record.key)) plan.resolve.push(record.key);
  return plan;
}
