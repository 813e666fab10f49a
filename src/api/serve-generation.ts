/**
 * Runs one generation for an HTTP request: as server-sent events or as one JSON body, with the
 * same events underneath, so streamed and non-streamed answers are the same text. Every request
 * ends in exactly one request-log row and one set of metric updates, whatever happened: success,
 * engine error, or a client that left (whose generation is stopped at once).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cancellation } from '../core/cancellation.js';
import type { Attempt, ComputeReport, EngineCall, GenerationEvent } from '../core/engine.js';
import { toNimbusError, type NimbusError } from '../core/errors.js';
import type { FinishReason, ToolCall, Usage } from '../core/openai/response-types.js';
import type { RequestLogEntry, RequestStatus } from '../core/store.js';
import type { Admission, AdmissionRequest } from '../tenancy/usage-gate.js';
import type { CompletionFormat, ResponseIdentity } from './response-format.js';
import { addRouteHeaders, formatRoute } from './route-headers.js';
import { requestLiveEvent } from './request-live-event.js';
import type { ServerContext } from './server-context.js';

/** What one route asks of the runner. */
export interface GenerationJob {
  kind: 'chat' | 'completion';
  identity: ResponseIdentity;
  format: CompletionFormat;
  stream: boolean;
  includeUsage: boolean;
  /** Text that precedes the generated text (`echo` on text completions). */
  prefix: string;
  /** Starts the engine call; errors before the first event become ordinary JSON errors. */
  start(call: EngineCall): AsyncIterable<GenerationEvent>;
  /** The model the requested name stands for (aliases resolved): prices are looked up by it. */
  canonicalModel?: string;
  /** Upper bounds of the tokens it may use, for admission (called only when a limit needs them). */
  estimate: () => { promptTokens: number; maxTokens: number | undefined };
}

/** The outcome the request log and metrics need. */
interface Outcome {
  status: RequestStatus;
  httpStatus: number;
  usage: Usage | undefined;
  finishReason: FinishReason | null;
  ttftMs: number | null;
  errorCode: string | null;
  servedBy: string | null;
  /** Every try at serving it (replicas, fallbacks), as the engines reported them. */
  attempts: Attempt[];
  compute: ComputeReport | undefined;
}

/** Serves a generation job on this request; resolves when the response is complete. */
export async function serveGeneration(context: ServerContext, request: FastifyRequest, reply: FastifyReply, job: GenerationJob): Promise<void> {
  const started = performance.now();
  const createdAt = Date.now();
  const abort = new Cancellation();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) abort.abort(new Error('client disconnected'));
  };
  reply.raw.on('close', onClose);
  const finishTracking = context.lifecycle.track(abort);
  const attempts: Attempt[] = [];
  const outcome: Outcome = {
    status: 'error',
    httpStatus: 500,
    usage: undefined,
    finishReason: null,
    ttftMs: null,
    errorCode: null,
    servedBy: null,
    attempts,
    compute: undefined,
  };
  // One reservation before the engine runs, one settlement after it, whatever happens in between.
  let admission: Admission | undefined;
  try {
    const admissionRequest: AdmissionRequest = { requestId: job.identity.id, model: job.identity.model, estimate: job.estimate };
    if (job.canonicalModel !== undefined) admissionRequest.canonicalModel = job.canonicalModel;
    // Most admissions answer at once (no limits to count): awaiting those would cost a microtask hop.
    const admitted = context.gate.admit(request.principal, admissionRequest);
    admission = admitted instanceof Promise ? await admitted : admitted;
    const call: EngineCall = { requestId: job.identity.id, cancel: abort, onAttempt: (attempt) => attempts.push(attempt) };
    const iterator = job.start(call)[Symbol.asyncIterator]();
    // The first event decides the response: an error here is still a plain JSON error with its status.
    const first = await iterator.next();
    outcome.httpStatus = 200;
    // Which model and replica serve is known now, before the first byte: it goes out as headers.
    const headers = responseHeaders(job.identity.id, admission.headers, attempts, job.stream);
    if (job.stream) await streamEvents(context, reply, job, iterator, first, started, outcome, abort, headers);
    else await collectEvents(context, reply, job, iterator, first, started, outcome, headers);
  } catch (error) {
    const failure = toNimbusError(error);
    outcome.status = 'error';
    outcome.httpStatus = failure.status;
    outcome.errorCode = failure.code;
    outcome.usage = failure.usage ?? outcome.usage;
    if (!reply.sent) {
      const headers = { ...admission?.headers };
      addRouteHeaders(headers, attempts);
      reply.headers(headers);
    }
    throw failure;
  } finally {
    reply.raw.off('close', onClose);
    finishTracking();
    if (abort.aborted && outcome.status !== 'error') outcome.status = 'cancelled';
    const servedModel = attempts[attempts.length - 1]?.model ?? job.identity.model;
    const charged = admission?.settle({ model: servedModel, usage: ledgerTokens(outcome.usage), compute: outcome.compute });
    record(context, job, createdAt, started, outcome, request, charged?.costNanoUsd ?? 0);
  }
}

/**
 * The response's headers: an event stream's, its id, the admission's rate-limit headers and the
 * route it took, built as one object (spreading them into another at writeHead cost ~4 µs).
 */
function responseHeaders(id: string, admitted: Readonly<Record<string, string>>, attempts: readonly Attempt[], stream: boolean): Record<string, string> {
  const headers: Record<string, string> = stream
    ? {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': id,
      }
    : { 'x-request-id': id };
  for (const name in admitted) headers[name] = admitted[name]!;
  addRouteHeaders(headers, attempts);
  return headers;
}

/** Records the engine's done event in the outcome. */
function finished(outcome: Outcome, event: Extract<GenerationEvent, { type: 'done' }>): void {
  outcome.usage = event.usage;
  outcome.finishReason = event.finishReason;
  outcome.servedBy = event.servedBy ?? null;
  outcome.compute = event.compute;
  outcome.status = 'ok';
}

function firstTokenAt(event: GenerationEvent): boolean {
  return event.type === 'delta' && (Boolean(event.content) || Boolean(event.toolCalls?.length));
}

async function collectEvents(
  context: ServerContext,
  reply: FastifyReply,
  job: GenerationJob,
  iterator: AsyncIterator<GenerationEvent>,
  first: IteratorResult<GenerationEvent>,
  started: number,
  outcome: Outcome,
  headers: Record<string, string>,
): Promise<void> {
  let text = job.prefix;
  const toolCalls: ToolCall[] = [];
  // An upstream's whole body, forwarded as it came (see GenerationEvent.raw).
  let body: string | undefined;
  for (let next = first; !next.done; next = await iterator.next()) {
    const event = next.value;
    if (outcome.ttftMs === null && firstTokenAt(event)) outcome.ttftMs = performance.now() - started;
    if (event.type === 'delta' && event.raw !== undefined) body = event.raw;
    else if (event.type === 'delta') {
      if (event.content) text += event.content;
      for (const call of event.toolCalls ?? [])
        toolCalls.push({ id: call.id ?? '', type: 'function', function: { name: call.function.name ?? '', arguments: call.function.arguments } });
    } else finished(outcome, event);
  }
  if (!outcome.usage || !outcome.finishReason) throw new Error('engine ended without a done event');
  reply.headers(headers);
  if (body !== undefined) await reply.type('application/json; charset=utf-8').send(body);
  else await reply.send(job.format.whole(job.identity, text, toolCalls, outcome.finishReason, usageToSend(context, outcome.usage, outcome.compute)));
}

async function streamEvents(
  context: ServerContext,
  reply: FastifyReply,
  job: GenerationJob,
  iterator: AsyncIterator<GenerationEvent>,
  first: IteratorResult<GenerationEvent>,
  started: number,
  outcome: Outcome,
  cancel: Cancellation,
  headers: Record<string, string>,
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, headers);
  const metrics = context.metrics.interTokenLatency.labels(job.identity.model);
  let lastChunkAt = 0;
  // Events that arrive together (several in one upstream TCP chunk) leave in one socket write:
  // the socket is corked on the first write of a tick and uncorked once the tick's work is done.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    raw.uncork();
  };
  // Writes whole SSE frames. Resolves only where a slow reader holds writes back, so a chunk that
  // leaves at once costs no promise.
  const writeFrames = (frames: string): Promise<void> | undefined => {
    if (cancel.aborted || raw.destroyed) return undefined;
    if (!corked) {
      corked = true;
      raw.cork();
      process.nextTick(uncork);
    }
    // Respect backpressure: a slow reader must not make the server buffer without bound.
    if (raw.write(frames)) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });
  };
  const write = (data: object | string): Promise<void> | undefined => writeFrames(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  // A pass-through stream carries the upstream's own opening, finish and usage chunks.
  const passthrough = !first.done && first.value.type === 'delta' && (first.value.raw !== undefined || first.value.sse !== undefined);
  const opening = passthrough ? undefined : job.format.opening(job.identity, job.prefix);
  if (opening) await write(opening);
  try {
    // After the client leaves, keep draining: the engine stops at once and still reports the
    // tokens it generated, which the request log must record.
    for (let next = first; !next.done; next = await iterator.next()) {
      const event = next.value;
      if (event.type === 'delta') {
        const now = performance.now();
        if (outcome.ttftMs === null && firstTokenAt(event)) outcome.ttftMs = now - started;
        else if (lastChunkAt > 0) metrics.observe((now - lastChunkAt) / 1000);
        lastChunkAt = now;
        const waiting = event.sse !== undefined ? writeFrames(event.sse) : write(event.raw ?? job.format.delta(job.identity, event.content, event.toolCalls));
        if (waiting) await waiting;
      } else {
        finished(outcome, event);
        if (passthrough) continue;
        await write(job.format.finish(job.identity, event.finishReason));
        if (job.includeUsage) await write(job.format.usage(job.identity, usageToSend(context, event.usage, event.compute)));
      }
    }
  } catch (error) {
    // Mid-stream failures end the stream with an error event in OpenAI's shape, never a hang.
    const failure: NimbusError = toNimbusError(error);
    outcome.status = 'error';
    outcome.errorCode = failure.code;
    outcome.usage = failure.usage ?? outcome.usage;
    if (failure.code === 'internal_error') context.logger.error({ err: error, requestId: job.identity.id }, 'generation failed mid-stream');
    await write(failure.toJSON());
  }
  // The last frame goes with the end of the response: one write fewer.
  if (cancel.aborted || raw.destroyed) raw.end();
  else raw.end('data: [DONE]\n\n');
}

/** The token counts the ledger charges, from an engine's usage. */
function ledgerTokens(usage: Usage | undefined): { promptTokens: number; cachedTokens: number; completionTokens: number } | undefined {
  if (!usage) return undefined;
  return { promptTokens: usage.prompt_tokens, cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0, completionTokens: usage.completion_tokens };
}

function record(
  context: ServerContext,
  job: GenerationJob,
  createdAt: number,
  started: number,
  outcome: Outcome,
  request: FastifyRequest,
  costNanoUsd: number,
): void {
  const durationMs = performance.now() - started;
  const model = job.identity.model;
  const usage = outcome.usage;
  const { tenantId, keyId } = request.principal;
  const compute = outcome.compute;
  context.metrics.recordRequest({
    route: job.kind,
    model,
    status: String(outcome.httpStatus),
    tenant: tenantId,
    durationSeconds: durationMs / 1000,
    usage,
    ttftSeconds: outcome.ttftMs === null ? null : outcome.ttftMs / 1000,
    computeSeconds: compute?.seconds ?? 0,
    costNanoUsd,
  });
  const entry: RequestLogEntry = {
    id: job.identity.id,
    createdAt,
    kind: job.kind,
    model,
    httpStatus: outcome.httpStatus,
    status: outcome.status,
    promptTokens: usage?.prompt_tokens ?? 0,
    completionTokens: usage?.completion_tokens ?? 0,
    cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    ttftMs: outcome.ttftMs === null ? null : Math.round(outcome.ttftMs * 1000) / 1000,
    durationMs: Math.round(durationMs * 1000) / 1000,
    finishReason: outcome.finishReason,
    stream: job.stream,
    errorCode: outcome.errorCode,
    servedBy: outcome.servedBy ?? outcome.attempts[outcome.attempts.length - 1]?.servedBy ?? null,
    route: outcome.attempts.length > 0 ? formatRoute(outcome.attempts) : null,
    usageEstimated: usage?.estimated ?? false,
    tenantId,
    keyId,
    deployment: compute?.deployment ?? null,
    worker: compute?.worker ?? null,
    deviceClass: compute?.deviceClass ?? null,
    computeSeconds: compute?.seconds ?? 0,
    costNanoUsd,
  };
  context.store.recordRequest(entry);
  context.events.publish(requestLiveEvent(entry));
  context.accessLog.info(
    {
      reqId: request.id,
      requestId: job.identity.id,
      tenantId,
      keyId,
      model,
      status: outcome.status,
      httpStatus: outcome.httpStatus,
      promptTokens: usage?.prompt_tokens,
      completionTokens: usage?.completion_tokens,
      ttftMs: outcome.ttftMs,
      durationMs,
      ...(outcome.attempts.length > 1 ? { route: formatRoute(outcome.attempts) } : {}),
    },
    `${job.kind} ${outcome.status}`,
  );
}

/** The usage a client gets; a pool worker adds its compute report for the control plane's ledger. */
function usageToSend(context: ServerContext, usage: Usage, compute: ComputeReport | undefined): Usage {
  if (!context.reportCompute || !compute) return usage;
  return { ...usage, nimbus_compute: { device_class: compute.deviceClass, seconds: compute.seconds } } as Usage;
}
