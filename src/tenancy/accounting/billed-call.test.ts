import { describe, expect, test } from 'vitest';
import { Cancellation } from '../../core/cancellation.js';
import type { EngineCall, GenerationEvent } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { LiveEvent } from '../../core/live-events.js';
import type { Principal } from '../../core/principal.js';
import type { RequestLogEntry } from '../../core/store.js';
import type { Limits } from '../../core/tenancy-store.js';
import { counterKey } from '../limit-plan.js';
import { MemoryLimitCounters } from '../memory-limit-counters.js';
import { windowAt } from '../time-windows.js';
import { LimitsGate } from '../usage-gate.js';
import { Accounting } from './accounting.js';
import type { BilledCallSpec } from './billed-call.js';
import { billedEmbedding, billedGeneration } from './billed-runs.js';
import type { FinishedRequest } from './sinks.js';

const principal: Principal = { tenantId: 'acme', keyId: 'key_1', scopes: { inference: true, admin: false, models: '*', devices: [] }, local: false };
const done = (
  prompt: number,
  completion: number,
  extra: Partial<Extract<GenerationEvent, { type: 'done' }>> = {},
): Extract<GenerationEvent, { type: 'done' }> => ({
  type: 'done',
  finishReason: 'stop',
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  ...extra,
});

/** The path with every sink recorded, a gate over in-process counters, and prices: `cheap` $1, `dear` $10 per million output tokens. */
function setup(limits: Limits = {}) {
  const rows: RequestLogEntry[] = [];
  const events: LiveEvent[] = [];
  const metered: FinishedRequest[] = [];
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  const warnings: string[] = [];
  const counters = new MemoryLimitCounters();
  const gate = new LimitsGate({
    counters,
    clock: { now: () => Date.parse('2025-03-04T05:06:07Z'), monotonic: () => 0 },
    prices: { models: { cheap: { input: 0, output: 1 }, dear: { input: 0, output: 10 } }, computePerHour: {} },
    limitsOf: () => ({ key: limits, tenant: {} }),
    defaultMaxTokens: 100,
    modelMaxTokens: { dear: 40 },
    reserveSecondsPerToken: 0,
    leaseMs: 60_000,
    onSettleError: () => undefined,
  });
  const accounting = new Accounting({
    gate,
    store: { recordRequest: (entry) => rows.push(entry) },
    events: { publish: (event) => events.push(event) },
    meter: { recordRequest: (finished) => metered.push(finished) },
    accessLog: { info: (fields, msg) => lines.push({ fields, msg }) },
    log: { warn: (_fields, msg) => warnings.push(msg) },
  });
  const spec = (overrides: Partial<BilledCallSpec> = {}): BilledCallSpec => ({
    requestId: `chatcmpl-${rows.length}-${Math.random()}`,
    kind: 'chat',
    principal,
    model: 'fast',
    models: ['cheap', 'dear'],
    estimate: () => ({ promptTokens: 10, maxTokens: 5 }),
    stream: false,
    ...overrides,
  });
  return { accounting, rows, events, metered, lines, warnings, counters, spec };
}

describe('a billed call', () => {
  test('ends in one ledger row, one metric, one access line and one live event, billed at the model that served', async () => {
    const { accounting, rows, events, metered, lines, spec } = setup();
    const call = accounting.open(spec({ requestId: 'chatcmpl-1', parentId: 'chatcmpl-0', app: { id: 'tutor', version: '3' }, batchId: 'batch_1' }));
    await call.admit();
    const engineCall = call.engineCall(new Cancellation());
    engineCall.onAttempt!({ model: 'cheap', servedBy: 'gpu-a', error: 'upstream_error' });
    engineCall.onAttempt!({ model: 'dear', servedBy: 'gpu-b' });
    call.firstToken();
    call.served(done(10, 4, { servedBy: 'gpu-b' }));
    expect(call.end(false)).toBe(40_000);
    expect(call.end(false)).toBe(40_000);
    expect(rows).toEqual([
      expect.objectContaining({
        id: 'chatcmpl-1',
        model: 'dear',
        requestedModel: 'fast',
        status: 'ok',
        httpStatus: 200,
        completionTokens: 4,
        costNanoUsd: 40_000,
        servedBy: 'gpu-b',
        route: 'cheap@gpu-a (upstream_error), dear@gpu-b',
        parentId: 'chatcmpl-0',
        appId: 'tutor',
        appVersion: '3',
        batchId: 'batch_1',
        tenantId: 'acme',
        keyId: 'key_1',
      }),
    ]);
    expect(rows[0]!.ttftMs).toEqual(expect.any(Number));
    expect(metered).toEqual([expect.objectContaining({ route: 'chat', model: 'dear', status: '200', tenant: 'acme', costNanoUsd: 40_000 })]);
    expect(lines).toEqual([
      {
        fields: expect.objectContaining({ requestId: 'chatcmpl-1', model: 'dear', requestedModel: 'fast', parentId: 'chatcmpl-0', status: 'ok' }),
        msg: 'chat ok',
      },
    ]);
    expect(events).toEqual([
      expect.objectContaining({ type: 'request', tenantId: 'acme', data: expect.objectContaining({ id: 'chatcmpl-1', served_by: 'gpu-b' }) }),
    ]);
  });

  test('a refusal is a row that says refused, with nothing charged', async () => {
    const { accounting, rows, counters, spec } = setup({ requestsPerMinute: 1 });
    const first = accounting.open(spec());
    await first.admit();
    first.served(done(1, 1));
    first.end(false);
    const second = accounting.open(spec());
    const error = await Promise.resolve(second.admit()).catch((failure: unknown) => second.failed(failure));
    expect(error).toBeInstanceOf(NimbusError);
    second.end(true);
    expect(rows[1]).toMatchObject({ status: 'refused', httpStatus: 429, errorCode: 'rate_limit_exceeded', costNanoUsd: 0, model: 'cheap' });
    // The refusal took nothing: the minute's counter holds the first request only.
    const now = Date.parse('2025-03-04T05:06:07Z');
    const key = counterKey('acme', { scope: 'key', id: 'key_1' }, 'requestsPerMinute', windowAt('minute', now));
    expect(await counters.read([key], now)).toEqual([1]);
  });

  test('a call the client left says cancelled, whatever the engine threw then, and keeps the tokens it reported', async () => {
    const { accounting, rows, spec } = setup();
    const call = accounting.open(spec());
    await call.admit();
    const failure = new NimbusError('upstream_error', 'connection reset', { usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } });
    call.failed(failure);
    call.end(true);
    expect(rows[0]).toMatchObject({ status: 'cancelled', errorCode: 'upstream_error', completionTokens: 3, httpStatus: 502 });
  });

  test('usage that is not a count (negative, fractional) is clamped to whole tokens of at least 0, and the operator is told', async () => {
    const { accounting, rows, warnings, spec } = setup();
    const call = accounting.open(spec());
    await call.admit();
    call.served(done(-500, 2.6));
    expect(call.end(false)).toBe(3_000);
    expect(rows[0]).toMatchObject({ promptTokens: 0, completionTokens: 3, costNanoUsd: 3_000 });
    expect(warnings).toHaveLength(1);
  });

  test('the cap: a call that set none is held to what admission reserved (where a token or cost limit counts it)', async () => {
    const unlimited = setup();
    const free = unlimited.accounting.open(unlimited.spec({ estimate: () => ({ promptTokens: 1, maxTokens: undefined }) }));
    await free.admit();
    expect(free.engineCall(new Cancellation()).maxTokens).toBeUndefined();
    const budgeted = setup({ costPerDayUsd: 1 });
    const capped = budgeted.accounting.open(
      budgeted.spec({ models: ['dear', 'cheap'], estimate: () => ({ promptTokens: 1, maxTokens: undefined, contextLength: 512 }) }),
    );
    await capped.admit();
    // `dear` is configured with defaultMaxTokens 40: it comes before the context length and the global default.
    expect(capped.engineCall(new Cancellation()).maxTokens).toBe(40);
    const own = budgeted.accounting.open(budgeted.spec({ estimate: () => ({ promptTokens: 1, maxTokens: 7 }) }));
    await own.admit();
    expect(own.engineCall(new Cancellation()).maxTokens).toBeUndefined();
    const context = budgeted.accounting.open(
      budgeted.spec({ models: ['cheap'], estimate: () => ({ promptTokens: 1, maxTokens: undefined, contextLength: 512 }) }),
    );
    await context.admit();
    expect(context.engineCall(new Cancellation()).maxTokens).toBe(512);
  });

  test('a fallback chain reserves at its dearest model: with a cost budget for one dear answer, a second in flight is refused', async () => {
    // 5 tokens at $10 per million: 50,000 nano-USD, the budget. At the cheap model's price ten would fit.
    const { accounting, spec } = setup({ costPerDayUsd: 50_000 / 1e9 });
    const first = accounting.open(spec());
    await first.admit();
    const second = accounting.open(spec());
    await expect(Promise.resolve(second.admit())).rejects.toMatchObject({ code: 'insufficient_quota' });
    first.engineCall(new Cancellation()).onAttempt!({ model: 'dear' });
    first.served(done(10, 5));
    expect(first.end(false)).toBe(50_000);
  });
});

describe('billed runs off HTTP', () => {
  test('a generation: admitted before the engine starts, one row with its parent, refused without running the engine', async () => {
    const { accounting, rows, spec } = setup({ requestsPerMinute: 1 });
    let started = 0;
    const engine = async function* (call: EngineCall): AsyncGenerator<GenerationEvent> {
      started += 1;
      call.onAttempt?.({ model: 'cheap' });
      yield { type: 'delta', content: 'hi' };
      yield done(2, 1);
    };
    const events: GenerationEvent[] = [];
    for await (const event of billedGeneration(accounting, spec({ requestId: 'turn-1', parentId: 'chatcmpl-0' }), new Cancellation(), engine))
      events.push(event);
    expect(events.map((event) => event.type)).toEqual(['delta', 'done']);
    const refused = billedGeneration(accounting, spec({ requestId: 'turn-2', parentId: 'chatcmpl-0' }), new Cancellation(), engine);
    await expect(refused.next()).rejects.toMatchObject({ code: 'rate_limit_exceeded' });
    expect(started).toBe(1);
    expect(rows).toEqual([
      expect.objectContaining({ id: 'turn-1', parentId: 'chatcmpl-0', status: 'ok', completionTokens: 1, costNanoUsd: 1_000, model: 'cheap' }),
      expect.objectContaining({ id: 'turn-2', parentId: 'chatcmpl-0', status: 'refused', httpStatus: 429 }),
    ]);
  });

  test('an embedding: its tokens, replica and compute in the row', async () => {
    const { accounting, rows, spec } = setup();
    const result = await billedEmbedding(accounting, spec({ kind: 'embedding', requestId: 'emb-1' }), new Cancellation(), async () => ({
      embeddings: [[1, 2]],
      promptTokens: 7,
      servedBy: 'm#embedding',
      compute: { deviceClass: 'cpu', seconds: 0.5 },
    }));
    expect(result.promptTokens).toBe(7);
    expect(rows).toEqual([
      expect.objectContaining({
        id: 'emb-1',
        kind: 'embedding',
        promptTokens: 7,
        servedBy: 'm#embedding',
        deviceClass: 'cpu',
        computeSeconds: 0.5,
        status: 'ok',
      }),
    ]);
  });
});
