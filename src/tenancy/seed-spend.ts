/**
 * Budget counters (tokens and cost per UTC day and month) start from the ledger, never from zero.
 * A reservation against a budget counter that does not exist changes nothing and answers
 * `unseeded` (LimitCounters); the gate then seeds it here with the owner's spend in its window,
 * read from the ledger, and reserves again. So a budget added to a key that already spent counts
 * that spend, and so does a server started again (in-process counters start empty), a new
 * installation namespace in Redis, or a Redis that lost its keys. Seeding sets only a counter
 * that does not exist yet (Redis SET NX), so of several processes seeding at once the first
 * wins and the others change nothing.
 *
 * Exactness: the seed is the ledger's rows at that moment. Rows still in the write batch (the
 * ledger flushes every 50 ms) and calls in flight when the limit appeared (they reserved without
 * it) are not in it, so the counter starts short by at most those.
 */
import type { LimitCounters } from '../core/limit-counters.js';
import type { Limits, TenancyStore } from '../core/tenancy-store.js';
import { counterKey, limitRules, type LimitName, type LimitOwner, type PlannedCheck } from './limit-plan.js';
import { windowAt } from './time-windows.js';

/** Tokens and nano-dollars spent. */
export interface Spend {
  tokens: number;
  costNanoUsd: number;
}

/** What an owner spent today and this month (UTC), as the ledger has it. */
export interface WindowSpend {
  day: Spend;
  month: Spend;
}

/** Reads an owner's spend from the ledger. */
export type SpendOf = (tenantId: string, owner: LimitOwner, now: number) => Promise<WindowSpend>;

/** The ledger's sums for one key, app or tenant: one query over this month, grouped by day. */
export function ledgerSpendOf(store: TenancyStore): SpendOf {
  return async (tenantId, owner, now) => {
    const today = windowAt('day', now).id.slice(1);
    const rows = await store.usage({
      since: windowAt('month', now).start,
      until: now + 1,
      tenantId,
      ...(owner.scope === 'key' ? { keyId: owner.id } : owner.scope === 'app' ? { appId: owner.id } : {}),
      groupBy: ['day'],
    });
    const spend: WindowSpend = { day: { tokens: 0, costNanoUsd: 0 }, month: { tokens: 0, costNanoUsd: 0 } };
    for (const row of rows) {
      const tokens = row.promptTokens + row.completionTokens;
      spend.month.tokens += tokens;
      spend.month.costNanoUsd += row.costNanoUsd;
      if (row.day === today) {
        spend.day.tokens += tokens;
        spend.day.costNanoUsd += row.costNanoUsd;
      }
    }
    return spend;
  };
}

/** Nothing spent: for gates without a ledger (tests, tenancy off). */
export const nothingSpent: SpendOf = async () => ({ day: { tokens: 0, costNanoUsd: 0 }, month: { tokens: 0, costNanoUsd: 0 } });

/** Seeds budget counters from the ledger; concurrent requests for the same owner share one ledger read. */
export class BudgetSeeder {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly counters: LimitCounters,
    private readonly spendOf: SpendOf,
  ) {}

  /** Seeds every budget counter among `checks` that does not exist yet (the others are left as they are). */
  async seed(checks: readonly PlannedCheck[], now: number): Promise<void> {
    const owners = new Map<string, PlannedCheck[]>();
    for (const check of checks) {
      if (!check.seed) continue;
      const owner = `${check.owner.scope}:${check.owner.id}`;
      const group = owners.get(owner);
      if (group) group.push(check);
      else owners.set(owner, [check]);
    }
    await Promise.all([...owners.values()].map((group) => this.seedOwner(group, now)));
  }

  /**
   * Drops the counters of budgets a change adds (absent before, present after), so their first
   * reservation seeds them from the ledger: a counter left from an earlier life of the same
   * limit in the same window missed what was spent while the limit was away. A limit whose value
   * changes keeps its counter, which counted every call since the limit appeared.
   */
  async added(tenantId: string, owner: LimitOwner, before: Limits, after: Limits, now: number): Promise<void> {
    const keys: string[] = [];
    for (const name of Object.keys(after) as LimitName[]) {
      const window = limitRules[name].window;
      if (after[name] === undefined || before[name] !== undefined || (window !== 'day' && window !== 'month')) continue;
      keys.push(counterKey(tenantId, owner, name, windowAt(window, now)));
    }
    if (keys.length > 0) await this.counters.clear(keys);
  }

  private seedOwner(checks: readonly PlannedCheck[], now: number): Promise<void> {
    const first = checks[0]!;
    const id = `${first.key.slice(0, first.key.indexOf('}') + 1)}${first.owner.scope}:${first.owner.id}:${windowAt('day', now).id}`;
    let pending = this.pending.get(id);
    if (!pending) {
      const tenantId = first.key.slice(1, first.key.indexOf('}'));
      pending = this.spendOf(tenantId, first.owner, now)
        .then(async (spend) => {
          const seeds = checks.map((check) => {
            const window = check.window?.id.startsWith('d') ? spend.day : spend.month;
            return this.counters.seed(check.key, check.rule.measure === 'cost' ? window.costNanoUsd : window.tokens, check.expiresAt);
          });
          await Promise.all(seeds);
        })
        .finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    return pending;
  }
}
