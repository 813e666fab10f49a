import { describe, expect, test } from 'vitest';
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import type { LimitCounters } from '../core/limit-counters.js';
import { localPrincipal, type Principal } from '../core/principal.js';
import type { Limits } from '../core/tenancy-store.js';
import { MemoryLimitCounters } from './memory-limit-counters.js';
import type { PriceTable } from './price-table.js';
import type { SpendOf } from './seed-spend.js';
import { LimitsGate, openGate, type AdmissionRequest } from './usage-gate.js';

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2025-03-04T05:06:07Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, monotonic: () => now, advance: (ms) => (now += ms) };
}

const keyPrincipal: Principal = { tenantId: 'acme', keyId: 'key_1', scopes: { inference: true, admin: false, models: '*', devices: [] }, local: false };
const prices: PriceTable = { models: { m: { input: 1, output: 2 } }, computePerHour: { cpu: 3.6 } };
let requests = 0;
const request = (promptTokens = 10, maxTokens: number | undefined = 90, model = 'm'): AdmissionRequest => ({
  requestId: `r${requests++}`,
  model,
  estimate: () => ({ promptTokens, maxTokens }),
});
const used = (promptTokens: number, completionTokens: number) => ({ promptTokens, completionTokens, cachedTokens: 0 });

function setup(
  limits: { key?: Limits; tenant?: Limits },
  options: { counters?: LimitCounters; clock?: ReturnType<typeof manualClock>; spendOf?: SpendOf } = {},
) {
  const counters = options.counters ?? new MemoryLimitCounters();
  const clock = options.clock ?? manualClock();
  const settleErrors: unknown[] = [];
  const gate = new LimitsGate({
    counters,
    clock,
    prices,
    limitsOf: () => ({ key: limits.key ?? {}, tenant: limits.tenant ?? {} }),
    defaultMaxTokens: 1000,
    reserveSecondsPerToken: 0.01,
    leaseMs: 60_000,
    onSettleError: (error) => settleErrors.push(error),
    ...(options.spendOf ? { spendOf: options.spendOf } : {}),
  });
  const read = async (key: string): Promise<number> => (await counters.read([key], clock.now()))[0]!;
  return { gate, counters, clock, read, settleErrors };
}

async function refusal(admitted: unknown): Promise<NimbusError> {
  const error = await Promise.resolve(admitted).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(NimbusError);
  return error as NimbusError;
}

const today = '{acme}:k:key_1:tokensPerDay:d2025-03-04';

describe('admission and settlement', () => {
  test('with nothing to count, admission answers at once (no promise); a refusal still rejects', async () => {
    const unlimited = setup({}).gate.admit(keyPrincipal, request(10, 90));
    expect(unlimited).not.toBeInstanceOf(Promise);
    expect(openGate.admit(localPrincipal, request(10, 90))).not.toBeInstanceOf(Promise);
    const metered = setup({ key: { tokensPerDay: 1000 } }).gate.admit(keyPrincipal, request(10, 90));
    expect(metered).toBeInstanceOf(Promise);
    await metered;
    const noScope: Principal = { ...keyPrincipal, scopes: { ...keyPrincipal.scopes, inference: false } };
    expect((await refusal(setup({}).gate.admit(noScope, request(10, 90)))).code).toBe('permission_denied');
  });

  test('admission reserves prompt + max tokens; settlement refunds what was not generated', async () => {
    const { gate, read } = setup({ key: { tokensPerDay: 1000 } });
    const admission = await gate.admit(keyPrincipal, request(10, 90));
    expect(await read(today)).toBe(100);
    admission.settle({ model: 'm', usage: used(8, 30), compute: undefined });
    await Promise.resolve();
    expect(await read(today)).toBe(38);
  });

  test('a failure before any token refunds everything; a disconnect settles what was generated', async () => {
    const { gate, read } = setup({ key: { tokensPerDay: 1000 } });
    (await gate.admit(keyPrincipal, request(10, 90))).settle({ model: 'm', usage: undefined, compute: undefined });
    expect(await read(today)).toBe(0);
    (await gate.admit(keyPrincipal, request(10, 90))).settle({ model: 'm', usage: used(9, 4), compute: undefined });
    expect(await read(today)).toBe(13);
  });

  test('settling twice charges once', async () => {
    const { gate, read } = setup({ key: { tokensPerDay: 1000 } });
    const admission = await gate.admit(keyPrincipal, request(10, 90));
    expect(admission.settle({ model: 'm', usage: used(10, 10), compute: undefined })).toEqual({ costNanoUsd: 10 * 1000 + 10 * 2000 });
    admission.settle({ model: 'm', usage: used(50, 50), compute: undefined });
    expect(await read(today)).toBe(20);
  });

  test('without max_tokens, the default (or the context length the route gave) is reserved', async () => {
    const { gate, read } = setup({ key: { tokensPerDay: 5000 } });
    await gate.admit(keyPrincipal, { requestId: 'no-max', model: 'm', estimate: () => ({ promptTokens: 10, maxTokens: undefined }) });
    expect(await read(today)).toBe(1010);
  });

  test('a daily token budget that allows exactly 7 requests admits exactly 7 of 50 at once', async () => {
    const { gate } = setup({ tenant: { tokensPerDay: 700 } });
    const results = await Promise.allSettled(Array.from({ length: 50 }, async () => gate.admit(keyPrincipal, request(10, 90))));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(7);
    const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as NimbusError).code).toBe('insufficient_quota');
  });

  test('budgets refuse with insufficient_quota, name the limit and owner, and give the reset time', async () => {
    const { gate } = setup({ key: { tokensPerDay: 150 } });
    await gate.admit(keyPrincipal, request(10, 90));
    const error = await refusal(gate.admit(keyPrincipal, request(10, 90)));
    expect(error.status).toBe(429);
    expect(error.code).toBe('insufficient_quota');
    expect(error.toJSON().error.type).toBe('insufficient_quota');
    expect(error.message).toContain("tokens per day budget on key 'key_1': limit 150, used 100, this request reserves 100");
    expect(error.message).toContain('2025-03-05T00:00:00.000Z');
    expect(error.message).toContain('tokens_per_day');
  });

  test('rates refuse with rate_limit_exceeded, retry-after and x-ratelimit headers', async () => {
    const { gate, clock } = setup({ tenant: { requestsPerMinute: 2, tokensPerMinute: 1000 } });
    const first = await gate.admit(keyPrincipal, request(10, 90));
    expect(first.headers).toEqual({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '53s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '900',
      'x-ratelimit-reset-tokens': '53s',
    });
    await gate.admit(keyPrincipal, request(10, 90));
    const error = await refusal(gate.admit(keyPrincipal, request(10, 90)));
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toMatch(
      /^Rate limit reached for requests per minute \(RPM\) on tenant 'acme': limit 2, used 2, requested 1\. Please try again in 53s\.$/,
    );
    expect(error.headers).toMatchObject({ 'retry-after': '53', 'x-ratelimit-remaining-requests': '0' });
    clock.advance(53_000);
    await gate.admit(keyPrincipal, request(10, 90));
  });

  test('the tighter of key and tenant is reported in the headers', async () => {
    const { gate } = setup({ key: { requestsPerMinute: 100 }, tenant: { requestsPerMinute: 5 } });
    const admission = await gate.admit(keyPrincipal, request());
    expect(admission.headers['x-ratelimit-limit-requests']).toBe('5');
    expect(admission.headers['x-ratelimit-remaining-requests']).toBe('4');
  });

  test('a request larger than a limit on its own is refused with how to fix it', async () => {
    const { gate } = setup({ key: { tokensPerMinute: 50 } });
    const error = await refusal(gate.admit(keyPrincipal, request(10, 90)));
    expect(error.message).toContain('This request needs up to 100 (the prompt');
    expect(error.message).toContain('Lower max_tokens');
  });

  test('concurrency: leases are held while running and released on settlement', async () => {
    const { gate } = setup({ key: { concurrentRequests: 2 } });
    const first = await gate.admit(keyPrincipal, request());
    await gate.admit(keyPrincipal, request());
    const error = await refusal(gate.admit(keyPrincipal, request()));
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toContain('at most 2 may run at once');
    first.settle({ model: 'm', usage: used(1, 1), compute: undefined });
    await gate.admit(keyPrincipal, request());
  });

  test('a batch line (budgetsOnly) passes RPM, TPM and concurrency at their limit, and is held to the day budget', async () => {
    const { gate, read } = setup({ key: { requestsPerMinute: 1, tokensPerMinute: 100, concurrentRequests: 1, tokensPerDay: 350 } });
    await gate.admit(keyPrincipal, request(10, 90));
    expect((await refusal(gate.admit(keyPrincipal, request(10, 90)))).code).toBe('rate_limit_exceeded');
    const batchLine = (): AdmissionRequest => ({ ...request(10, 90), budgetsOnly: true, priceFactor: 0.5 });
    const first = await gate.admit(keyPrincipal, batchLine());
    expect(first.headers).toEqual({});
    await gate.admit(keyPrincipal, batchLine());
    expect(await read(today)).toBe(300);
    const error = await refusal(gate.admit(keyPrincipal, batchLine()));
    expect(error.code).toBe('insufficient_quota');
    expect(first.settle({ model: 'm', usage: used(1_000_000, 0), compute: undefined }).costNanoUsd).toBe(500_000_000);
  });

  test('a batch line under rate limits only is not counted at all', async () => {
    const { gate, read } = setup({ key: { requestsPerMinute: 1 } });
    await gate.admit(keyPrincipal, request());
    for (let line = 0; line < 3; line += 1) expect((await gate.admit(keyPrincipal, { ...request(), budgetsOnly: true })).headers).toEqual({});
    expect(await read(`{acme}:k:key_1:requestsPerMinute:m${Math.floor(Date.parse('2025-03-04T05:06:07Z') / 60_000)}`)).toBe(1);
  });

  test('a refused request takes nothing from the limits it did fit', async () => {
    const { gate, read } = setup({ key: { tokensPerDay: 10_000 }, tenant: { requestsPerMinute: 1 } });
    await gate.admit(keyPrincipal, request(10, 90));
    await refusal(gate.admit(keyPrincipal, request(10, 90)));
    expect(await read(today)).toBe(100);
  });

  test('cost budgets reserve the quote and charge the real cost, also above the quote (the ledger is the bill)', async () => {
    const { gate, read } = setup({ key: { costPerDayUsd: 0.01 } });
    const key = '{acme}:k:key_1:costPerDayUsd:d2025-03-04';
    const admission = await gate.admit(keyPrincipal, request(10, 90));
    // Quote: 10 x 1000 + 90 x 2000 nano-USD for tokens, plus 100 tokens x 0.01 s x $3.6/h for compute.
    expect(await read(key)).toBe(10_000 + 180_000 + 1_000_000);
    expect(admission.settle({ model: 'm', usage: used(10, 20), compute: { deviceClass: 'cpu', seconds: 0.5 } })).toEqual({ costNanoUsd: 50_000 + 500_000 });
    expect(await read(key)).toBe(550_000);
    // Compute slower than the quote assumed is billed as used (it was, once, capped at the quote: a ledger that lied).
    const slow = await gate.admit(keyPrincipal, request(10, 90));
    expect(slow.settle({ model: 'm', usage: used(10, 90), compute: { deviceClass: 'cpu', seconds: 10 } })).toEqual({ costNanoUsd: 190_000 + 10_000_000 });
    expect(await read(key)).toBe(550_000 + 10_190_000);
    expect((await refusal(gate.admit(keyPrincipal, request(1, 1)))).code).toBe('insufficient_quota');
  });

  test('with no limits, nothing is counted but the cost is still priced', async () => {
    const counters = new MemoryLimitCounters();
    let reserved = 0;
    const original = counters.reserve.bind(counters);
    counters.reserve = async (...args) => {
      reserved += 1;
      return original(...args);
    };
    const { gate } = setup({}, { counters });
    const admission = await gate.admit(keyPrincipal, request());
    expect(admission.headers).toEqual({});
    expect(admission.settle({ model: 'm', usage: used(1000, 0), compute: undefined })).toEqual({ costNanoUsd: 1_000_000 });
    expect(reserved).toBe(0);
  });

  test('scopes: no inference scope, or a model outside the key, is a 403 before any counting', async () => {
    const { gate, read } = setup({ key: { tokensPerDay: 1000 } });
    const adminOnly = { ...keyPrincipal, scopes: { ...keyPrincipal.scopes, inference: false, admin: true } };
    expect((await refusal(gate.admit(adminOnly, request()))).code).toBe('permission_denied');
    const scoped = { ...keyPrincipal, scopes: { ...keyPrincipal.scopes, models: ['a', 'b'] } };
    const error = await refusal(gate.admit(scoped, request(10, 90, 'm')));
    expect(error.status).toBe(403);
    expect(error.message).toBe("This API key may not use the model 'm'; it may use: a, b.");
    expect(error.param).toBe('model');
    await gate.admit(scoped, request(10, 90, 'a'));
    expect(await read(today)).toBe(100);
  });

  test('an alias: scopes accept it or the model it stands for, and the quote prices the model', async () => {
    const { gate, read } = setup({ key: { costPerDayUsd: 1 } });
    const scoped = { ...keyPrincipal, scopes: { ...keyPrincipal.scopes, models: ['m'] } };
    await gate.admit(scoped, { requestId: 'alias', model: 'gpt-4o-mini', models: ['m'], estimate: () => ({ promptTokens: 10, maxTokens: 90 }) });
    expect(await read('{acme}:k:key_1:costPerDayUsd:d2025-03-04')).toBe(10_000 + 180_000 + 1_000_000);
    const error = await refusal(gate.admit(scoped, { requestId: 'other', model: 'other', models: ['x'], estimate: () => ({ promptTokens: 1, maxTokens: 1 }) }));
    expect(error.code).toBe('permission_denied');
  });

  test('a budget counter starts from the ledger: spent before the limit existed counts; seeded once for a burst; a budget added again starts afresh', async () => {
    const limits: { key: Limits } = { key: {} };
    const reads: string[] = [];
    let spent = 900;
    const spendOf: SpendOf = async (tenantId, owner) => {
      reads.push(`${tenantId}/${owner.scope}:${owner.id}`);
      return { day: { tokens: spent, costNanoUsd: 0 }, month: { tokens: spent + 50, costNanoUsd: 0 } };
    };
    const { gate, read } = setup(limits, { spendOf });
    (await gate.admit(keyPrincipal, request(10, 90))).settle({ model: 'm', usage: used(10, 90), compute: undefined });
    limits.key = { tokensPerDay: 1050, tokensPerMonth: 10_000 };
    await gate.changed({ keyId: 'key_1', limits: { tenantId: 'acme', owner: { scope: 'key', id: 'key_1' }, before: {}, after: limits.key } });
    const burst = await Promise.allSettled(Array.from({ length: 5 }, async () => gate.admit(keyPrincipal, request(10, 90))));
    // 900 spent (as the ledger says) leaves room for one request of 100, not ten.
    expect(burst.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(reads).toEqual(['acme/key:key_1']);
    expect([await read(today), await read('{acme}:k:key_1:tokensPerMonth:M2025-03')]).toEqual([1000, 1050]);
    // Removed, more spent meanwhile, added again: the counter of its earlier life is dropped and the ledger read again.
    const removed = { tokensPerMonth: 10_000 };
    await gate.changed({ keyId: 'key_1', limits: { tenantId: 'acme', owner: { scope: 'key', id: 'key_1' }, before: limits.key, after: removed } });
    spent = 1040;
    await gate.changed({ keyId: 'key_1', limits: { tenantId: 'acme', owner: { scope: 'key', id: 'key_1' }, before: removed, after: limits.key } });
    expect((await refusal(gate.admit(keyPrincipal, request(1, 10)))).code).toBe('insufficient_quota');
    expect(await read(today)).toBe(1040);
  });

  test('unreachable counters refuse with a retryable 503, never admit unchecked', async () => {
    const broken: LimitCounters = {
      reserve: () => Promise.reject(new Error('ECONNREFUSED')),
      settle: () => Promise.reject(new Error('ECONNREFUSED')),
      seed: () => Promise.resolve(),
      clear: () => Promise.resolve(),
      read: () => Promise.resolve([]),
      close: () => Promise.resolve(),
    };
    const { gate } = setup({ key: { tokensPerDay: 10 } }, { counters: broken });
    const error = await refusal(gate.admit(keyPrincipal, request(1, 1)));
    expect([error.status, error.code, error.retryable]).toEqual([503, 'limits_unavailable', true]);
  });

  test('a settlement the counters fail to take is reported, not thrown', async () => {
    const counters = new MemoryLimitCounters();
    counters.settle = () => Promise.reject(new Error('lost'));
    const { gate, settleErrors } = setup({ key: { tokensPerDay: 1000 } }, { counters });
    (await gate.admit(keyPrincipal, request())).settle({ model: 'm', usage: used(1, 1), compute: undefined });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(settleErrors).toHaveLength(1);
  });

  test('day and month budgets start again in the next window', async () => {
    const clock = manualClock(Date.parse('2025-01-31T23:59:00Z'));
    const { gate } = setup({ key: { tokensPerDay: 100, tokensPerMonth: 250 } }, { clock });
    await gate.admit(keyPrincipal, request(10, 90));
    expect((await refusal(gate.admit(keyPrincipal, request(10, 90)))).message).toContain('tokens per day');
    clock.advance(60_000);
    await gate.admit(keyPrincipal, request(10, 90));
    clock.advance(86_400_000);
    await gate.admit(keyPrincipal, request(10, 90));
    clock.advance(86_400_000);
    expect((await refusal(gate.admit(keyPrincipal, request(10, 90)))).message).toContain('tokens per month');
  });

  test('local mode is limited by the default tenant', async () => {
    const { gate } = setup({ tenant: { requestsPerMinute: 1 } });
    await gate.admit(localPrincipal, request());
    expect((await refusal(gate.admit(localPrincipal, request()))).message).toContain("tenant 'default'");
  });

  test("a tenant's budgets for alerts: the same counters admission counted, seeded from the ledger the same way, rates left out", async () => {
    const tenant: Limits = { requestsPerMinute: 100, tokensPerDay: 1000, costPerMonthUsd: 1 };
    const spendOf: SpendOf = async () => ({ day: { tokens: 500, costNanoUsd: 0 }, month: { tokens: 500, costNanoUsd: 7 } });
    const { gate } = setup({ tenant }, { spendOf });
    (await gate.admit(keyPrincipal, request(10, 90))).settle({ model: 'm', usage: used(10, 290), compute: undefined });
    const budgets = await gate.tenantBudgets('acme', tenant);
    expect(budgets.map((budget) => [budget.name, budget.used, budget.limit])).toEqual([
      ['tokensPerDay', 800, 1000],
      // Prices are USD per million tokens: (10 x 1 + 290 x 2) / 1e6 USD = 590,000 nano-USD, over the 7 the ledger had.
      ['costPerMonthUsd', 7 + 590_000, 1_000_000_000],
    ]);
    // What the caller's own read says of the tenant's budgets is the same.
    const standing = (await gate.standing(keyPrincipal)).filter((entry) => entry.owner.scope === 'tenant' && entry.name !== 'requestsPerMinute');
    expect(standing).toEqual(budgets);
    expect(await openGate.tenantBudgets('acme', tenant)).toEqual([]);
  });

  test('the open gate admits everything and charges nothing', async () => {
    const admission = await openGate.admit(keyPrincipal, request());
    expect(admission.settle({ model: 'm', usage: used(5, 5), compute: undefined })).toEqual({ costNanoUsd: 0 });
  });
});
