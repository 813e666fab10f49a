/**
 * Runs one generation for an HTTP request: as server-sent events or as one JSON body, with the
 * same events underneath, so streamed and non-streamed answers are the same text. Every request
 * ends in exactly one request-log row and one set of metric updates, whatever happened: success,
 * engine error, or a client that left (whose generation is stopped at once).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EngineCall, GenerationEvent } from '../core/engine.js';
import { toNimbusError, type NimbusError } from '../core/errors.js';
import type { FinishReason, ToolCall, Usage } from '../core/openai/response-types.js';
import type { RequestStatus } from '../core/store.js';
import type { CompletionFormat, ResponseIdentity } from './response-format.js';
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
}

const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

/** Serves a generation job on this request; resolves when the response is complete. */
export async function serveGeneration(context: ServerContext, request: FastifyRequest, reply: FastifyReply, job: GenerationJob): Promise<void> {
  const started = performance.now();
  const createdAt = Date.now();
  const abort = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) abort.abort(new Error('client disconnected'));
  };
  reply.raw.on('close', onClose);
  const finishTracking = context.lifecycle.track(abort);
  const outcome: Outcome = { status: 'error', httpStatus: 500, usage: undefined, finishReason: null, ttftMs: null, errorCode: null, servedBy: null };
  try {
    const iterator = job.start({ requestId: job.identity.id, signal: abort.signal })[Symbol.asyncIterator]();
    // The first event decides the response: an error here is still a plain JSON error with its status.
    const first = await iterator.next();
    outcome.httpStatus = 200;
    if (job.stream) await streamEvents(context, reply, job, iterator, first, started, outcome, abort.signal);
    else await collectEvents(reply, job, iterator, first, started, outcome);
  } catch (error) {
    const failure = toNimbusError(error);
    Object.assign(outcome, { status: 'error', httpStatus: failure.status, errorCode: failure.code });
    throw failure;
  } finally {
    reply.raw.off('close', onClose);
    finishTracking();
    if (abort.signal.aborted && outcome.status !== 'error') outcome.status = 'cancelled';
    record(context, job, createdAt, started, outcome, request);
  }
}

function firstTokenAt(event: GenerationEvent): boolean {
  return event.type === 'delta' && (Boolean(event.content) || Boolean(event.toolCalls?.length));
}

async function collectEvents(
  reply: FastifyReply,
  job: GenerationJob,
  iterator: AsyncIterator<GenerationEvent>,
  first: IteratorResult<GenerationEvent>,
  started: number,
  outcome: Outcome,
): Promise<void> {
  let text = job.prefix;
  const toolCalls: ToolCall[] = [];
  for (let next = first; !next.done; next = await iterator.next()) {
    const event = next.value;
    if (outcome.ttftMs === null && firstTokenAt(event)) outcome.ttftMs = performance.now() - started;
    if (event.type === 'delta') {
      if (event.content) text += event.content;
      for (const call of event.toolCalls ?? [])
        toolCalls.push({ id: call.id ?? '', type: 'function', function: { name: call.function.name ?? '', arguments: call.function.arguments } });
    } else {
      Object.assign(outcome, { usage: event.usage, finishReason: event.finishReason, servedBy: event.servedBy ?? null, status: 'ok' });
    }
  }
  if (!outcome.usage || !outcome.finishReason) throw new Error('engine ended without a done event');
  reply.header('x-request-id', job.identity.id);
  await reply.send(job.format.whole(job.identity, text, toolCalls, outcome.finishReason, outcome.usage));
}

async function streamEvents(
  context: ServerContext,
  reply: FastifyReply,
  job: GenerationJob,
  iterator: AsyncIterator<GenerationEvent>,
  first: IteratorResult<GenerationEvent>,
  started: number,
  outcome: Outcome,
  signal: AbortSignal,
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { ...sseHeaders, 'x-request-id': job.identity.id });
  const metrics = context.metrics.interTokenLatency.labels(job.identity.model);
  let lastChunkAt = 0;
  const write = async (data: object | string): Promise<void> => {
    if (signal.aborted || raw.destroyed) return;
    const line = `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    // Respect backpressure: a slow reader must not make the server buffer without bound.
    if (!raw.write(line))
      await new Promise<void>((resolve) => {
        const done = (): void => {
          raw.off('drain', done);
          raw.off('close', done);
          resolve();
        };
        raw.on('drain', done);
        raw.on('close', done);
      });
  };
  const opening = job.format.opening(job.identity, job.prefix);
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
        await write(job.format.delta(job.identity, event.content, event.toolCalls));
      } else {
        Object.assign(outcome, { usage: event.usage, finishReason: event.finishReason, servedBy: event.servedBy ?? null, status: 'ok' });
        await write(job.format.finish(job.identity, event.finishReason));
        if (job.includeUsage) await write(job.format.usage(job.identity, event.usage));
      }
    }
  } catch (error) {
    // Mid-stream failures end the stream with an error event in OpenAI's shape, never a hang.
    const failure: NimbusError = toNimbusError(error);
    Object.assign(outcome, { status: 'error', errorCode: failure.code });
    if (failure.code === 'internal_error') context.logger.error({ err: error, requestId: job.identity.id }, 'generation failed mid-stream');
    await write(failure.toJSON());
  }
  await write('[DONE]');
  raw.end();
}

function record(context: ServerContext, job: GenerationJob, createdAt: number, started: number, outcome: Outcome, request: FastifyRequest): void {
  const durationMs = performance.now() - started;
  const model = job.identity.model;
  const usage = outcome.usage;
  context.metrics.requests.inc({ route: job.kind, model, status: String(outcome.httpStatus) });
  context.metrics.requestDuration.observe({ route: job.kind }, durationMs / 1000);
  if (usage) {
    context.metrics.promptTokens.inc({ model }, usage.prompt_tokens);
    context.metrics.completionTokens.inc({ model }, usage.completion_tokens);
  }
  if (outcome.ttftMs !== null) context.metrics.timeToFirstToken.observe({ model }, outcome.ttftMs / 1000);
  context.store.recordRequest({
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
    servedBy: outcome.servedBy,
  });
  request.log.info(
    {
      requestId: job.identity.id,
      model,
      status: outcome.status,
      httpStatus: outcome.httpStatus,
      promptTokens: usage?.prompt_tokens,
      completionTokens: usage?.completion_tokens,
      ttftMs: outcome.ttftMs,
      durationMs,
    },
    `${job.kind} ${outcome.status}`,
  );
}
