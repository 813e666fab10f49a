/**
 * Which counters a request must fit: one per limit set on its key and on its tenant, each in
 * its calendar window. Counter names carry the tenant as a Redis hash tag (`{acme}:...`), so
 * every counter a request touches lives in one slot and one script can check them all.
 */
import type { CounterCheck } from '../core/limit-counters.js';
import { limitNames, type Limits } from '../core/tenancy-store.js';
import { usdToNanoUsd } from './price-table.js';
import { windowAt, type TimeWindow, type WindowName } from './time-windows.js';

/** A limit's name (`tokensPerDay`). */
export type LimitName = keyof Limits;

/** How one kind of limit counts, and how a refusal is reported. */
export interface LimitRule {
  window?: WindowName;
  measure: 'requests' | 'tokens' | 'cost' | 'concurrent';
  /** OpenAI's code for the refusal: rates are retried later, budgets need someone to act. */
  code: 'rate_limit_exceeded' | 'insufficient_quota';
  /** In a message: `tokens per day`. */
  words: string;
  /** The field's name in the admin API and CLI. */
  field: string;
}

export const limitRules: Record<LimitName, LimitRule> = {
  requestsPerMinute: { window: 'minute', measure: 'requests', code: 'rate_limit_exceeded', words: 'requests per minute (RPM)', field: 'requests_per_minute' },
  tokensPerMinute: { window: 'minute', measure: 'tokens', code: 'rate_limit_exceeded', words: 'tokens per minute (TPM)', field: 'tokens_per_minute' },
  concurrentRequests: { measure: 'concurrent', code: 'rate_limit_exceeded', words: 'concurrent requests', field: 'concurrent_requests' },
  tokensPerDay: { window: 'day', measure: 'tokens', code: 'insufficient_quota', words: 'tokens per day', field: 'tokens_per_day' },
  tokensPerMonth: { window: 'month', measure: 'tokens', code: 'insufficient_quota', words: 'tokens per month', field: 'tokens_per_month' },
  costPerDayUsd: { window: 'day', measure: 'cost', code: 'insufficient_quota', words: 'cost per day', field: 'cost_per_day_usd' },
  costPerMonthUsd: { window: 'month', measure: 'cost', code: 'insufficient_quota', words: 'cost per month', field: 'cost_per_month_usd' },
};

/** Who a limit belongs to: a key, a tenant, or an app (its own limits and budget, issue 23). */
export interface LimitOwner {
  scope: 'key' | 'tenant' | 'app';
  id: string;
}

/** A counter check and what it stands for, so a refusal can name the limit. */
export interface PlannedCheck extends CounterCheck {
  owner: LimitOwner;
  name: LimitName;
  rule: LimitRule;
  window: TimeWindow | undefined;
}

/** What one request asks of its limits. */
export interface Demand {
  /** Prompt tokens (upper bound) plus the most it may generate. */
  tokens: number;
  /** The cost quote in nano-USD. */
  costNanoUsd: number;
}

/** Everything `planChecks` needs. */
export interface PlanInput {
  tenantId: string;
  keyId: string | null;
  keyLimits: Limits;
  tenantLimits: Limits;
  demand: Demand;
  now: number;
  /** How long a concurrency lease lives if its request never settles (a crashed process). */
  leaseMs: number;
}

/** The counter name of one limit of one owner in one window. */
export function counterKey(tenantId: string, owner: LimitOwner, name: LimitName, window: TimeWindow | undefined): string {
  return `{${tenantId}}:${owner.scope === 'key' ? 'k' : owner.scope === 'app' ? 'a' : 't'}:${owner.id}:${name}${window ? `:${window.id}` : ''}`;
}

/** The checks for a request: key limits first, then tenant limits, each in `limitNames` order. */
export function planChecks(input: PlanInput): PlannedCheck[] {
  return withDemand(planTemplate(input.tenantId, input.keyId, input.keyLimits, input.tenantLimits, input.now), input.demand, input.now, input.leaseMs);
}

/**
 * The checks of one key and tenant in the windows of `now`, without the request's amounts: the
 * same for every request of the key within a minute, so `PlanCache` builds it once a minute.
 */
export function planTemplate(tenantId: string, keyId: string | null, keyLimits: Limits, tenantLimits: Limits, now: number): PlannedCheck[] {
  const checks: PlannedCheck[] = keyId ? ownerChecks(tenantId, { scope: 'key', id: keyId }, keyLimits, now) : [];
  checks.push(...ownerChecks(tenantId, { scope: 'tenant', id: tenantId }, tenantLimits, now));
  return checks;
}

/** The checks of one owner's limits in the windows of `now`, in `limitNames` order, without amounts. */
export function ownerChecks(tenantId: string, owner: LimitOwner, limits: Limits, now: number): PlannedCheck[] {
  const checks: PlannedCheck[] = [];
  for (const name of limitNames) {
    const value = limits[name];
    if (value === undefined) continue;
    const rule = limitRules[name];
    const window = rule.window ? windowAt(rule.window, now) : undefined;
    checks.push({
      key: counterKey(tenantId, owner, name, window),
      kind: rule.measure === 'concurrent' ? 'concurrency' : 'window',
      limit: rule.measure === 'cost' ? usdToNanoUsd(value) : value,
      amount: 0,
      expiresAt: window ? window.end : 0,
      // Budgets (a day or a month) start from what the ledger says was spent; a minute's rate from zero.
      seed: rule.window === 'day' || rule.window === 'month',
      owner,
      name,
      rule,
      window,
    });
  }
  return checks;
}

/** A template's checks with one request's amounts (and its concurrency lease's expiry). */
export function withDemand(template: readonly PlannedCheck[], demand: Demand, now: number, leaseMs: number): PlannedCheck[] {
  const checks: PlannedCheck[] = new Array<PlannedCheck>(template.length);
  for (let index = 0; index < template.length; index += 1) {
    const check = template[index]!;
    const { key, kind, limit, seed, owner, name, rule, window } = check;
    checks[index] = { key, kind, limit, amount: amountOf(rule, demand), expiresAt: window ? window.end : now + leaseMs, seed, owner, name, rule, window };
  }
  return checks;
}

interface CachedPlan {
  tenantId: string;
  keyId: string | null;
  tenantLimits: Limits;
  /** The template holds until this minute ends (every window it names is still current). */
  validUntil: number;
  template: PlannedCheck[];
}

/** Templates by key limits object (stable while the key resolver caches the key), rebuilt each minute or when limits change. */
export class PlanCache {
  private readonly plans = new WeakMap<Limits, CachedPlan>();

  template(tenantId: string, keyId: string | null, keyLimits: Limits, tenantLimits: Limits, now: number): PlannedCheck[] {
    const cached = this.plans.get(keyLimits);
    if (cached && cached.tenantId === tenantId && cached.keyId === keyId && cached.tenantLimits === tenantLimits && now < cached.validUntil)
      return cached.template;
    const template = planTemplate(tenantId, keyId, keyLimits, tenantLimits, now);
    this.plans.set(keyLimits, { tenantId, keyId, tenantLimits, validUntil: windowAt('minute', now).end, template });
    return template;
  }
}

function amountOf(rule: LimitRule, demand: Demand): number {
  switch (rule.measure) {
    case 'tokens':
      return demand.tokens;
    case 'cost':
      return demand.costNanoUsd;
    case 'requests':
    case 'concurrent':
      return 1;
  }
}

/** An app's checks by its limits object (one per cached app version), rebuilt each minute. */
export class AppPlanCache {
  private readonly plans = new WeakMap<Limits, { tenantId: string; appId: string; validUntil: number; template: PlannedCheck[] }>();

  template(tenantId: string, appId: string, limits: Limits, now: number): PlannedCheck[] {
    const cached = this.plans.get(limits);
    if (cached && cached.tenantId === tenantId && cached.appId === appId && now < cached.validUntil) return cached.template;
    const template = ownerChecks(tenantId, { scope: 'app', id: appId }, limits, now);
    this.plans.set(limits, { tenantId, appId, validUntil: windowAt('minute', now).end, template });
    return template;
  }
}

/** Whether any limit is set: with none, admission needs no counters at all. */
export function hasLimits(limits: Limits): boolean {
  for (const name of limitNames) if (limits[name] !== undefined) return true;
  return false;
}

/** Whether a limit that measures `measure` is set on either owner. */
export function limitsMeasure(measure: LimitRule['measure'], ...all: Limits[]): boolean {
  return all.some((limits) => limitNames.some((name) => limits[name] !== undefined && limitRules[name].measure === measure));
}
