/**
 * One billed engine call, from admission to its ledger row: the single path every call that
 * costs a tenant something goes through (chat, completions, embeddings, each turn of the device
 * tool loop; responses, knowledge ingest and batches next). The caller drives it:
 *
 *   const call = accounting.open(spec);          // the clock starts
 *   await call.admit();                          // one reservation against every limit (429 here)
 *   engine.chat(request, call.engineCall(cancel))    // attempts (route, served model) and the cap
 *   call.firstToken(); call.served(doneEvent);   // or call.failed(error)
 *   call.end(cancel.aborted);                    // settle + ledger row + metrics + access line + live event
 *
 * `end` runs exactly once whatever happened (a refusal, an engine error, a client that left): it
 * charges what was used at the price of the model that served, frees the rest of the
 * reservation, and records the row. Nothing in it awaits, so the hot path never waits on it.
 * docs/architecture.md ("The accounting path") documents the contract.
 */
import type { Cancellation } from '../../core/cancellation.js';
import type { Attempt, ComputeReport, EmbeddingResult, EngineCall, GenerationEvent, Priority } from '../../core/engine.js';
import { toNimbusError, type NimbusError } from '../../core/errors.js';
import type { FinishReason, Usage } from '../../core/openai/response-types.js';
import type { Principal } from '../../core/principal.js';
import type { RequestLogEntry, RequestStatus } from '../../core/store.js';
import type { TokenCounts } from '../price-table.js';
import type { Admission, AdmissionRequest } from '../usage-gate.js';
import type { AccountingSinks } from './accounting.js';
import { formatRoute, noteAttempt, servingAttempt } from './format-route.js';
import { requestLiveEvent } from './request-live-event.js';

/**
 * What a billed call is, fixed when it opens. It is also the admission request (`requestId`,
 * `model`, `models`, `estimate`, `priceFactor`), so admitting allocates nothing more.
 */
export interface BilledCallSpec extends AdmissionRequest {
  /** The ledger row's id: the id the client gets (`chatcmpl-...`), or a fresh one for a later call of the same request. */
  requestId: string;
  /** `chat`, `completion`, `embedding`: the ledger's kind and the metrics' `route` label. */
  kind: string;
  principal: Principal;
  /** The model name the client asked for (kept as the row's `requested_model`). */
  model: string;
  /** Whether the answer streams (the row records it). */
  stream: boolean;
  /** The id the client got, where this call is a later one made for the same client request (`RequestLogEntry.parentId`). */
  parentId?: string;
  /** The app and version the call serves. */
  app?: { id: string; version: string };
  /** The batch the call belongs to. */
  batchId?: string;
  /** Its class in the engines' queues (`EngineCall.priority`): `batch` for a batch's line or a request a pool sent as one. */
  priority?: Priority;
  /** The HTTP request's own id (Fastify's `req-1`), for the access line; absent off HTTP. */
  httpRequestId?: string;
}

type DoneEvent = Extract<GenerationEvent, { type: 'done' }>;

const noHeaders: Readonly<Record<string, string>> = {};
/** The status logged for a call whose client left before it was answered. */
const clientClosedRequest = 499;

/** A billed call in flight; made by `Accounting.open`. */
export class BilledCall {
  /** Unix ms when it opened: the row's `created_at`. */
  readonly createdAt = Date.now();
  /** performance.now() when it opened: durations and time to first token count from here. */
  readonly started = performance.now();
  /** Every try at serving it, as the engines report them (`EngineCall.onAttempt`). */
  readonly attempts: Attempt[] = [];
  status: RequestStatus = 'error';
  httpStatus = 500;
  usage: Usage | undefined;
  finishReason: FinishReason | null = null;
  ttftMs: number | null = null;
  errorCode: string | null = null;
  servedBy: string | null = null;
  compute: ComputeReport | undefined;
  private admission: Admission | undefined;
  private billedApart = false;
  private cost = 0;
  private ended = false;
  private readonly addAttempt = (attempt: Attempt): void => noteAttempt(this.attempts, attempt);

  constructor(
    private readonly sinks: AccountingSinks,
    readonly spec: BilledCallSpec,
  ) {}

  /**
   * Reserves the call's worst case against every limit of its key and tenant, or throws the
   * refusal (403 scope, 429 limit, 503 counters unreachable); pass it to `failed`. Synchronous
   * when nothing needs counting, as most calls: awaiting that would cost the hot path a microtask.
   */
  admit(): void | Promise<void> {
    const admitted = this.sinks.gate.admit(this.spec.principal, this.spec);
    if (!(admitted instanceof Promise)) {
      this.admission = admitted;
      return;
    }
    return admitted.then((admission) => {
      this.admission = admission;
    });
  }

  /** `x-ratelimit-*` headers of the admission (none before it, or where nothing is counted). */
  get headers(): Readonly<Record<string, string>> {
    return this.admission?.headers ?? noHeaders;
  }

  /** The output cap admission reserved for a call that set none (see `Admission.maxTokens`). */
  get maxTokens(): number | undefined {
    return this.admission?.maxTokens;
  }

  /** What the engine gets with the call: its id, the cancellation, where to report tries, and the reserved cap. */
  engineCall(cancel: Cancellation): EngineCall {
    const call: EngineCall = { requestId: this.spec.requestId, cancel, onAttempt: this.addAttempt };
    const cap = this.admission?.maxTokens;
    if (cap !== undefined) call.maxTokens = cap;
    if (this.spec.priority !== undefined) call.priority = this.spec.priority;
    return call;
  }

  /** The first token (or tool call) came out now: the time to first token, once. */
  firstToken(now = performance.now()): void {
    if (this.ttftMs === null) this.ttftMs = now - this.started;
  }

  /** The engine's `done`: usage, finish reason, where and how long it computed. */
  served(event: DoneEvent): void {
    this.status = 'ok';
    this.httpStatus = 200;
    this.finishReason = event.finishReason;
    if (this.billedApart) return;
    this.usage = event.usage;
    this.servedBy = event.servedBy ?? null;
    this.compute = event.compute;
  }

  /** The engine's embeddings: their tokens, and where and how long they were computed. */
  embedded(result: EmbeddingResult): void {
    this.status = 'ok';
    this.httpStatus = 200;
    this.usage = { prompt_tokens: result.promptTokens, completion_tokens: 0, total_tokens: result.promptTokens };
    this.servedBy = result.servedBy ?? null;
    this.compute = result.compute;
  }

  /**
   * For a job that makes several engine calls for one client request (the device tool loop):
   * bills this row for the first call's `done` only. Later calls are billed as calls of their own,
   * with this call's id as their `parentId`; the job's final `done` (whose usage is the client's
   * total) then sets the status and finish reason here but not the usage.
   */
  billOnly(event: DoneEvent): void {
    this.billedApart = true;
    this.usage = event.usage;
    this.servedBy = event.servedBy ?? null;
    this.compute = event.compute;
  }

  /**
   * The call failed (before admission: a refusal; after: an error). Returns the error as a
   * NimbusError to answer with. `answered`: the response's status already went out (a stream
   * that breaks after its first event), so the row keeps it.
   */
  failed(error: unknown, answered = false): NimbusError {
    const failure = toNimbusError(error);
    this.status = this.admission ? 'error' : 'refused';
    if (!answered) this.httpStatus = failure.status;
    this.errorCode = failure.code;
    if (failure.usage && !this.billedApart) this.usage = failure.usage;
    return failure;
  }

  /**
   * The client left before anything was answered (waiting in a queue, or for a replica): nothing
   * failed, so the row says `cancelled` with HTTP 499 (nginx's "client closed request"), not the
   * error the engine threw when its call was cancelled.
   */
  clientLeft(): void {
    this.httpStatus = clientClosedRequest;
    this.errorCode = null;
  }

  /**
   * Settles and records, once: charges what was used at the price of the model that served,
   * frees the rest of the reservation, and writes the ledger row, the metrics, the access line
   * and the live event. `cancelled`: the client left or the server gave up on it, which is what
   * its row says whatever the engine threw then. Returns what it cost, in nano-USD.
   */
  end(cancelled: boolean): number {
    if (this.ended) return this.cost;
    this.ended = true;
    if (cancelled && this.status !== 'refused') this.status = 'cancelled';
    const spec = this.spec;
    const serving = servingAttempt(this.attempts);
    const model = serving?.model ?? spec.models?.[0] ?? spec.model;
    const tokens = this.countedTokens();
    const compute = this.compute;
    if (this.admission) this.cost = this.admission.settle({ model, usage: tokens, compute }).costNanoUsd;
    const durationMs = performance.now() - this.started;
    const { tenantId, keyId } = spec.principal;
    const usage = this.usage;
    this.sinks.meter.recordRequest({
      route: spec.kind,
      model,
      status: String(this.httpStatus),
      tenant: tenantId,
      durationSeconds: durationMs / 1000,
      usage,
      ttftSeconds: this.ttftMs === null ? null : this.ttftMs / 1000,
      computeSeconds: compute?.seconds ?? 0,
      costNanoUsd: this.cost,
      app: spec.app,
    });
    const route = this.attempts.length > 0 ? formatRoute(this.attempts) : null;
    const entry: RequestLogEntry = {
      id: spec.requestId,
      createdAt: this.createdAt,
      kind: spec.kind,
      model,
      httpStatus: this.httpStatus,
      status: this.status,
      promptTokens: tokens?.promptTokens ?? 0,
      completionTokens: tokens?.completionTokens ?? 0,
      cachedTokens: tokens?.cachedTokens ?? 0,
      ttftMs: this.ttftMs === null ? null : Math.round(this.ttftMs * 1000) / 1000,
      durationMs: Math.round(durationMs * 1000) / 1000,
      finishReason: this.finishReason,
      stream: spec.stream,
      errorCode: this.errorCode,
      servedBy: this.servedBy ?? serving?.servedBy ?? null,
      route,
      usageEstimated: usage?.estimated ?? false,
      tenantId,
      keyId,
      deployment: compute?.deployment ?? null,
      worker: compute?.worker ?? null,
      deviceClass: compute?.deviceClass ?? null,
      computeSeconds: compute?.seconds ?? 0,
      costNanoUsd: this.cost,
      requestedModel: spec.model,
      parentId: spec.parentId ?? null,
      appId: spec.app?.id ?? null,
      appVersion: spec.app?.version ?? null,
      batchId: spec.batchId ?? null,
    };
    this.sinks.store.recordRequest(entry);
    this.sinks.events.publish(requestLiveEvent(entry));
    this.sinks.accessLog.info(
      {
        reqId: spec.httpRequestId,
        requestId: spec.requestId,
        tenantId,
        keyId,
        model,
        ...(model !== spec.model ? { requestedModel: spec.model } : {}),
        ...(spec.parentId !== undefined ? { parentId: spec.parentId } : {}),
        status: this.status,
        httpStatus: this.httpStatus,
        promptTokens: usage && entry.promptTokens,
        completionTokens: usage && entry.completionTokens,
        ttftMs: this.ttftMs,
        durationMs,
        ...(this.attempts.length > 1 ? { route } : {}),
      },
      `${spec.kind} ${this.status}`,
    );
    return this.cost;
  }

  /**
   * The token counts the ledger charges. An engine's usage is a count: a negative or fractional
   * one (a broken upstream) would turn into credit, so each is clamped to a whole number of at
   * least 0, and the operator is told.
   */
  private countedTokens(): TokenCounts | undefined {
    const usage = this.usage;
    if (!usage) return undefined;
    const prompt = usage.prompt_tokens;
    const completion = usage.completion_tokens;
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    if (usage.estimated && isCount(completion)) {
      // Counted here from the text (the upstream sent no usage): it cannot have generated more than
      // the cap it was sent, so an estimate past the cap is the estimate's error, not spend.
      const cap = this.spec.estimate().maxTokens ?? this.admission?.maxTokens;
      if (cap !== undefined && completion > cap) {
        this.usage = { ...usage, completion_tokens: cap, total_tokens: prompt + cap };
        return this.countedTokens();
      }
    }
    if (isCount(prompt) && isCount(completion) && isCount(cached)) return { promptTokens: prompt, cachedTokens: cached, completionTokens: completion };
    this.sinks.log.warn(
      { requestId: this.spec.requestId, model: this.spec.model, usage },
      'the engine reported a usage that is not a count of tokens (negative, fractional or missing); each such count is billed as the nearest whole number of at least 0',
    );
    const counted = { promptTokens: toCount(prompt), cachedTokens: toCount(cached), completionTokens: toCount(completion) };
    this.usage = {
      ...usage,
      prompt_tokens: counted.promptTokens,
      completion_tokens: counted.completionTokens,
      total_tokens: counted.promptTokens + counted.completionTokens,
      prompt_tokens_details: { cached_tokens: counted.cachedTokens },
    };
    return counted;
  }
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function toCount(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), Number.MAX_SAFE_INTEGER) : 0;
}
