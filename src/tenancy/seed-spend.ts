/**
 * After a restart (in-process counters start empty) or a new limit (its counter never existed),
 * today's and this month's spend is read back from the ledger into the budget counters. Seeding
 * only sets counters that do not exist yet, so running it again, or in a second process, is safe.
 */
import type { Clock } from '../core/clock.js';
import type { LimitCounters } from '../core/limit-counters.js';
import type { TenancyStore } from '../core/tenancy-store.js';
import { counterKey, type LimitName, type LimitOwner } from './limit-plan.js';
import { windowAt } from './time-windows.js';

interface Spend {
  tokens: number;
  costNanoUsd: number;
}

/** Seeds the day and month token and cost counters of every key and tenant with spend this month. */
export async function seedSpendCounters(store: TenancyStore, counters: LimitCounters, clock: Clock): Promise<void> {
  const now = clock.now();
  const day = windowAt('day', now);
  const month = windowAt('month', now);
  const today = day.id.slice(1);
  const rows = await store.usage({ since: month.start, until: now + 1, groupBy: ['tenant', 'key', 'day'] });
  const totals = new Map<string, { tenantId: string; owner: LimitOwner; month: Spend; day: Spend }>();
  const add = (tenantId: string, owner: LimitOwner, tokens: number, cost: number, isToday: boolean): void => {
    const id = `${owner.scope}:${owner.id}`;
    let total = totals.get(id);
    if (!total) totals.set(id, (total = { tenantId, owner, month: { tokens: 0, costNanoUsd: 0 }, day: { tokens: 0, costNanoUsd: 0 } }));
    total.month.tokens += tokens;
    total.month.costNanoUsd += cost;
    if (isToday) {
      total.day.tokens += tokens;
      total.day.costNanoUsd += cost;
    }
  };
  for (const row of rows) {
    const tenantId = row.tenantId ?? 'default';
    const tokens = row.promptTokens + row.completionTokens;
    const isToday = row.day === today;
    add(tenantId, { scope: 'tenant', id: tenantId }, tokens, row.costNanoUsd, isToday);
    if (row.keyId) add(tenantId, { scope: 'key', id: row.keyId }, tokens, row.costNanoUsd, isToday);
  }
  const seeds: Array<Promise<void>> = [];
  const seed = (tenantId: string, owner: LimitOwner, name: LimitName, value: number, window: typeof day): void => {
    if (value > 0) seeds.push(counters.seed(counterKey(tenantId, owner, name, window), value, window.end));
  };
  for (const { tenantId, owner, month: monthSpend, day: daySpend } of totals.values()) {
    seed(tenantId, owner, 'tokensPerMonth', monthSpend.tokens, month);
    seed(tenantId, owner, 'costPerMonthUsd', monthSpend.costNanoUsd, month);
    seed(tenantId, owner, 'tokensPerDay', daySpend.tokens, day);
    seed(tenantId, owner, 'costPerDayUsd', daySpend.costNanoUsd, day);
  }
  await Promise.all(seeds);
}
