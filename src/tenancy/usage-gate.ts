/**
 * Admission and settlement around every inference request. Before the engine runs: the key's
 * scopes are checked, then one atomic reservation takes the request's worst case (prompt upper
 * bound + max tokens, the cost quote, one request, one concurrency lease) from every limit of
 * its key and tenant. After it ends, however it ends: one settlement charges what was actually
 * used and refunds the rest. The HTTP layer awaits the first and never the second.
 */
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import type { LimitCounters } from '../core/limit-counters.js';
import { allows, type Principal } from '../core/principal.js';
import type { Limits } from '../core/tenancy-store.js';
import { AppPlanCache, hasLimits, limitsMeasure, ownerChecks, PlanCache, withDemand, type Demand, type LimitOwner, type PlannedCheck } from './limit-plan.js';
import { limitRefusal } from './limit-refusal.js';
import { limitStandings, type LimitStanding } from './limit-standing.js';
import { costNanoUsd, quoteNanoUsd, type ComputeTime, type PriceTable, type TokenCounts } from './price-table.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { BudgetSeeder, nothingSpent, type SpendOf } from './seed-spend.js';

/** What admission needs to know about a request before it runs. */
export interface AdmissionRequest {
  /** Names the concurrency lease (the request id). */
  requestId: string;
  /** The model the client asked for. */
  model: string;
  /**
   * The models that may serve it, in the order they would be tried: the one the name stands for
   * (aliases resolved; scopes accept it as well as the name), then its fallbacks. The cost quote
   * is the dearest of them, so a fallback to a dearer model never passes a cost budget. Just
   * `model` when absent.
   */
  models?: readonly string[];
  /**
   * The app the call serves and its own limits and budget (issue 23): counted in the same
   * reservation as the key's and the tenant's, as one more owner. Absent outside apps.
   */
  appLimits?: { id: string; limits: Limits } | undefined;
  /** Multiplies every price of this request (a batch discount: 0.5); 1 when absent. */
  priceFactor?: number;
  /**
   * Counted against day and month budgets only, never RPM, TPM or concurrency: a batch's line
   * (batches have a limit of their own, tokens enqueued per key, checked when one is created).
   */
  budgetsOnly?: boolean;
  /**
   * Upper bounds of what it may use, computed only when a limit needs them: the prompt's tokens
   * at most, the client's cap on output (undefined: none sent), and the context length of the
   * model the name stands for, where its engine knows it.
   */
  estimate(): AdmissionEstimate;
}

/** What `AdmissionRequest.estimate` answers. */
export interface AdmissionEstimate {
  promptTokens: number;
  maxTokens: number | undefined;
  contextLength?: number | undefined;
}

/** What settlement needs to know about a request once it ended. */
export interface SettlementInput {
  /** The model that served (after fallbacks): prices are looked up by it. */
  model: string;
  /** Tokens used, as the engine counted them; undefined when nothing ran. */
  usage: TokenCounts | undefined;
  /** Where it was computed and for how long; undefined for upstreams. */
  compute: ComputeTime | undefined;
}

/** An admitted request. */
export interface Admission {
  /** `x-ratelimit-*` headers for the response. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The output cap admission reserved for a request that set none, where a token or cost limit
   * counted it: the engine must be held to it (sent upstream as `max_tokens`), or the budget is
   * no ceiling. Undefined when the request set its own cap or nothing counted tokens or cost.
   */
  readonly maxTokens: number | undefined;
  /** Charges what was used and frees the reservation. Synchronous for the caller; counters update in the background. Once only. */
  settle(input: SettlementInput): { costNanoUsd: number };
}

/** Admission and settlement, as the HTTP layer sees them. */
export interface UsageGate {
  /**
   * Admits the request or fails with a NimbusError (403 scope, 429 limit, 503 counters
   * unreachable). Answers at once, without a promise, when nothing needs counting (no tenancy, or
   * a key without limits): that is most requests, and a promise costs the hot path a microtask hop.
   */
  admit(principal: Principal, request: AdmissionRequest): Admission | Promise<Admission>;
  /**
   * Forgets cached keys or tenants after an admin change, so this process applies it at once; where
   * limits changed, a budget they add starts from the ledger. Resolves once the counters know.
   */
  changed(change: LimitsChange): Promise<void>;
  /**
   * Each limit of the principal's key and tenant as admission sees it now: used, left, when it
   * resets (`GET /v1/me/limits`). Budgets not counted yet are seeded from the ledger first, as
   * admission seeds them. Empty when nothing is limited.
   */
  standing(principal: Principal, app?: { id: string; limits: Limits }): Promise<LimitStanding[]>;
  /**
   * A tenant's own day and month budgets as admission reads them (the alerts' budget rule):
   * seeded from the ledger first, as admission seeds them, then read from the same counters.
   */
  tenantBudgets(tenantId: string, limits: Limits): Promise<LimitStanding[]>;
  /**
   * Each limit of a tenant itself (not of any key) as admission sees it now, the tenant's limits
   * loaded as its next request would load them (`GET /v1/tenants/{id}/limits`, for an operator
   * looking at another tenant). Empty when the tenant has none.
   */
  tenantStanding(tenantId: string): Promise<LimitStanding[]>;
}

/** An admin change, as the routes report it to the gate. */
export interface LimitsChange {
  keyId?: string;
  tenantId?: string;
  /** Where limits changed: whose, and what they were and are. */
  limits?: { tenantId: string; owner: LimitOwner; before: Limits; after: Limits };
}

/** Checks a principal may call inference on `model` (or on `canonical`, the model an alias stands for); throws 403 otherwise. */
export function authorizeInference(principal: Principal, model: string, canonical = model): void {
  if (!principal.scopes.inference) {
    throw new NimbusError(
      'permission_denied',
      'This API key may not call the inference API (it has no inference scope). Use a key created with inference scope.',
    );
  }
  const apps = principal.scopes.apps;
  // An app key calls its apps (as the app's principal, which has no app scope), never a model by name: batches included.
  if (Array.isArray(apps)) {
    throw new NimbusError(
      'permission_denied',
      `This API key may only call apps (${apps.join(', ') || 'none'}), not the model '${model}': send model "app:NAME" or POST /v1/apps/NAME/responses.`,
      { param: 'model' },
    );
  }
  if (!allows(principal.scopes.models, model) && !allows(principal.scopes.models, canonical)) {
    const allowed = principal.scopes.models === '*' ? 'every model' : principal.scopes.models.join(', ') || 'no model';
    throw new NimbusError('permission_denied', `This API key may not use the model '${model}'; it may use: ${allowed}.`, { param: 'model' });
  }
}

/** The gate when tenancy is off: every request admitted, nothing counted, nothing charged. */
export const openGate: UsageGate = {
  admit: () => freeAdmission,
  changed: () => Promise.resolve(),
  standing: () => Promise.resolve([]),
  tenantBudgets: () => Promise.resolve([]),
  tenantStanding: () => Promise.resolve([]),
};

const freeAdmission: Admission = { headers: {}, maxTokens: undefined, settle: () => ({ costNanoUsd: 0 }) };

/** Where the gate reads the limits that apply to a principal (cached by the key resolver). */
export type LimitsSource = (principal: Principal) => { key: Limits; tenant: Limits };

export interface LimitsGateOptions {
  counters: LimitCounters;
  clock: Clock;
  prices: PriceTable;
  limitsOf: LimitsSource;
  /** Called after an admin change (the key resolver's cache). */
  onChange?: (change: LimitsChange) => void;
  /** Where budget counters that do not exist yet are seeded from (the ledger); nothing spent when absent. */
  spendOf?: SpendOf;
  /**
   * Reserved, and sent as the cap, when a request sets no max_tokens: per model (`models[]` and
   * `upstreamModels[]` entries' `defaultMaxTokens`), else the model's context length where its
   * engine knows it, else `defaultMaxTokens`.
   */
  defaultMaxTokens: number;
  /** `defaultMaxTokens` of the models configured with one, by name. */
  modelMaxTokens?: Readonly<Record<string, number>>;
  /** Compute time assumed per token when quoting compute-priced requests against cost budgets. */
  reserveSecondsPerToken: number;
  /** How long a concurrency lease lives if its request never settles. */
  leaseMs: number;
  /** Reports counters that could not be settled (their reservation then stays counted). */
  onSettleError: (error: unknown) => void;
  /** Loads a tenant's limits into what `limitsOf` reads, as a request of it would (the key resolver's `loadTenant`). */
  loadTenant?: (tenantId: string) => Promise<void>;
}

/** The gate with limits: counters in this process or in Redis. */
export class LimitsGate implements UsageGate {
  private readonly plans = new PlanCache();
  private readonly appPlans = new AppPlanCache();
  private readonly seeder: BudgetSeeder;

  constructor(private readonly options: LimitsGateOptions) {
    this.seeder = new BudgetSeeder(options.counters, options.spendOf ?? nothingSpent);
  }

  admit(principal: Principal, request: AdmissionRequest): Admission | Promise<Admission> {
    let limits: ReturnType<LimitsSource>;
    try {
      authorizeInference(principal, request.model, request.models?.[0]);
      limits = this.options.limitsOf(principal);
    } catch (error) {
      return Promise.reject(error);
    }
    const app = request.appLimits;
    if (!hasLimits(limits.key) && !hasLimits(limits.tenant) && !(app && hasLimits(app.limits)))
      return new UnmeteredAdmission(this.options.prices, request.priceFactor ?? 1);
    return this.reserve(principal, request, limits);
  }

  async changed(change: LimitsChange): Promise<void> {
    this.options.onChange?.(change);
    const limits = change.limits;
    if (limits) await this.seeder.added(limits.tenantId, limits.owner, limits.before, limits.after, this.options.clock.now());
  }

  async standing(principal: Principal, app?: { id: string; limits: Limits }): Promise<LimitStanding[]> {
    const limits = this.options.limitsOf(principal);
    const now = this.options.clock.now();
    // The templates admission reserves against (same counters, same windows), without a request's amounts; an app's as one more owner.
    const owners = this.plans.template(principal.tenantId, principal.keyId, limits.key, limits.tenant, now);
    const checks = app && hasLimits(app.limits) ? [...owners, ...this.appPlans.template(principal.tenantId, app.id, app.limits, now)] : owners;
    return this.read(checks, now);
  }

  async tenantBudgets(tenantId: string, limits: Limits): Promise<LimitStanding[]> {
    const now = this.options.clock.now();
    const checks = ownerChecks(tenantId, { scope: 'tenant', id: tenantId }, limits, now).filter((check) => check.seed);
    return this.read(checks, now);
  }

  /** Seeds budgets not counted yet, as admission would, and reads the counters of `checks`. */
  private async read(checks: PlannedCheck[], now: number): Promise<LimitStanding[]> {
    if (checks.length === 0) return [];
    try {
      await this.seeder.seed(checks, now);
      return limitStandings(
        checks,
        await this.options.counters.read(
          checks.map((check) => check.key),
          now,
        ),
      );
    } catch (error) {
      throw new NimbusError('limits_unavailable', 'Limits could not be read because the limits store is unreachable; retry shortly.', {
        headers: { 'retry-after': '1' },
        cause: error,
      });
    }
  }

  async tenantStanding(tenantId: string): Promise<LimitStanding[]> {
    await this.options.loadTenant?.(tenantId);
    // A principal of the tenant with no key: the tenant's own checks alone, from the same plan and counters.
    return this.standing({ tenantId, keyId: null, scopes: { inference: false, admin: false, models: [], devices: [] }, local: false });
  }

  /** Counts the request against its limits: in this process or in Redis, so asynchronous. */
  private async reserve(principal: Principal, request: AdmissionRequest, limits: ReturnType<LimitsSource>): Promise<Admission> {
    const now = this.options.clock.now();
    const estimate = request.estimate();
    const models = request.models ?? [request.model];
    const maxTokens = estimate.maxTokens ?? this.options.modelMaxTokens?.[models[0]!] ?? estimate.contextLength ?? this.options.defaultMaxTokens;
    const app = request.appLimits;
    const appLimits = app?.limits ?? noLimits;
    const costBudget = limitsMeasure('cost', limits.key, limits.tenant, appLimits);
    const factor = request.priceFactor ?? 1;
    let quote = 0;
    if (costBudget) {
      // The dearest model of the chain: whichever serves, the reservation covers it.
      for (const model of models)
        quote = Math.max(quote, quoteNanoUsd(this.options.prices, model, estimate.promptTokens, maxTokens, this.options.reserveSecondsPerToken, factor));
    }
    const demand: Demand = { tokens: estimate.promptTokens + maxTokens, costNanoUsd: quote };
    // Held to the cap it reserved where tokens or cost are counted; a request that set its own keeps it.
    const cap = estimate.maxTokens === undefined && (costBudget || limitsMeasure('tokens', limits.key, limits.tenant, appLimits)) ? maxTokens : undefined;
    const owners = this.plans.template(principal.tenantId, principal.keyId, limits.key, limits.tenant, now);
    // An app's limits are one more owner in the same reservation: all fit, or none is touched.
    const all = app && hasLimits(app.limits) ? [...owners, ...this.appPlans.template(principal.tenantId, app.id, app.limits, now)] : owners;
    const template = request.budgetsOnly ? all.filter(isBudget) : all;
    if (template.length === 0) return new UnmeteredAdmission(this.options.prices, factor);
    const checks = withDemand(template, demand, now, this.options.leaseMs);
    let result;
    try {
      result = await this.options.counters.reserve(request.requestId, checks, now);
      // A budget counter that does not exist yet starts from the ledger (seed-spend.ts), then the reservation runs again.
      for (let attempt = 0; result.unseeded && attempt < 3; attempt += 1) {
        await this.seeder.seed(checks, now);
        result = await this.options.counters.reserve(request.requestId, checks, now);
      }
      if (result.unseeded) throw new Error('budget counters could not be seeded from the ledger');
    } catch (error) {
      throw new NimbusError('limits_unavailable', 'Limits could not be checked because the limits store is unreachable; retry shortly.', {
        headers: { 'retry-after': '1' },
        cause: error,
      });
    }
    if (!result.ok) throw limitRefusal(checks, result.failed, result.values, demand, now);
    return new MeteredAdmission(this.options, request.requestId, checks, factor, cap, rateLimitHeaders(checks, result.values, now));
  }
}

/** A day's or a month's budget (the limits a batch line counts against). */
function isBudget(check: PlannedCheck): boolean {
  return check.rule.window === 'day' || check.rule.window === 'month';
}

/** Admitted with no limit to count against: settlement only prices it. */
class UnmeteredAdmission implements Admission {
  readonly headers = {};
  readonly maxTokens = undefined;
  constructor(
    private readonly prices: PriceTable,
    private readonly factor: number,
  ) {}

  settle(input: SettlementInput): { costNanoUsd: number } {
    return { costNanoUsd: input.usage || input.compute ? costNanoUsd(this.prices, input.model, input.usage ?? noTokens, input.compute, this.factor) : 0 };
  }
}

const noLimits: Limits = {};

const noTokens: TokenCounts = { promptTokens: 0, cachedTokens: 0, completionTokens: 0 };

class MeteredAdmission implements Admission {
  private settlement: { costNanoUsd: number } | undefined;

  constructor(
    private readonly options: LimitsGateOptions,
    private readonly leaseId: string,
    private readonly checks: readonly PlannedCheck[],
    private readonly factor: number,
    readonly maxTokens: number | undefined,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  settle(input: SettlementInput): { costNanoUsd: number } {
    if (this.settlement) return this.settlement;
    const usage = input.usage ?? noTokens;
    const tokens = usage.promptTokens + usage.completionTokens;
    // What was used, at the price of the model that served: the quote is a reservation, never the
    // bill. The cap sent upstream keeps real usage within it wherever the upstream reports usage.
    const cost = costNanoUsd(this.options.prices, input.model, usage, input.compute, this.factor);
    this.settlement = { costNanoUsd: cost };
    const adjustments = [];
    const concurrencyKeys = [];
    for (const check of this.checks) {
      if (check.kind === 'concurrency') {
        concurrencyKeys.push(check.key);
        continue;
      }
      // Every window goes, unchanged ones too: where the reservation was released for a process taken for dead, `used` is charged whole.
      const used = check.rule.measure === 'tokens' ? tokens : check.rule.measure === 'cost' ? cost : check.amount;
      adjustments.push({ key: check.key, delta: used - check.amount, used });
    }
    if (adjustments.length > 0 || concurrencyKeys.length > 0) {
      this.options.counters.settle(this.leaseId, adjustments, concurrencyKeys).catch(this.options.onSettleError);
    }
    return this.settlement;
  }
}
