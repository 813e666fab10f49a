/**
 * Runs one generation for an HTTP request: as server-sent events or as one JSON body, with the
 * same events underneath, so streamed and non-streamed answers are the same text. The request is
 * one billed call on the accounting path (src/tenancy/accounting/): admitted before the engine
 * runs, and ended once whatever happened (success, engine error, a refusal, a client that left,
 * whose generation is stopped at once) with its settlement, ledger row, metrics, access line and
 * live event.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cancellation } from '../core/cancellation.js';
import type { Attempt, ComputeReport, EngineCall, GenerationEvent } from '../core/engine.js';
import type { NimbusError } from '../core/errors.js';
import type { ToolCall, Usage } from '../core/openai/response-types.js';
import type { Limits } from '../core/tenancy-store.js';
import type { BilledCall } from '../tenancy/accounting/billed-call.js';
import type { AdmissionEstimate } from '../tenancy/usage-gate.js';
import type { CompletionFormat, ResponseIdentity } from './response-format.js';
import { formatRoute } from '../tenancy/accounting/format-route.js';
import { addRouteHeaders } from './route-headers.js';
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
  /**
   * Starts the engine call; errors before the first event become ordinary JSON errors. `billed`
   * is this request's billed call, for a job that makes several engine calls (the device tool
   * loop bills its first through it and the rest as calls of their own).
   */
  start(call: EngineCall, billed: BilledCall): AsyncIterable<GenerationEvent>;
  /** The models that may serve it: the one the name stands for (aliases resolved), then its fallbacks. */
  models: readonly string[];
  /** Upper bounds of the tokens it may use, for admission (called only when a limit needs them). */
  estimate: () => AdmissionEstimate;
  /** The app and version it serves, for the ledger; absent outside apps. */
  app?: { id: string; version: string };
  /** The app's own limits and budget, reserved with the key's and the tenant's. */
  appLimits?: { id: string; limits: Limits } | undefined;
}

/** Serves a generation job on this request; resolves when the response is complete. */
export async function serveGeneration(context: ServerContext, request: FastifyRequest, reply: FastifyReply, job: GenerationJob): Promise<void> {
  const billed = context.accounting.open({
    requestId: job.identity.id,
    kind: job.kind,
    principal: request.principal,
    model: job.identity.model,
    models: job.models,
    estimate: job.estimate,
    stream: job.stream,
    httpRequestId: request.id,
    // A pool sends a batch line to its worker with this header; anyone may send it, since it only lowers a request's place in line.
    ...(request.headers['x-nimbus-priority'] === 'batch' ? { priority: 'batch' as const } : {}),
    ...(job.app ? { app: job.app } : {}),
    ...(job.appLimits ? { appLimits: job.appLimits } : {}),
  });
  const abort = new Cancellation();
  let clientLeft = false;
  const onClose = (): void => {
    if (reply.raw.writableEnded) return;
    clientLeft = true;
    abort.abort(new Error('client disconnected'));
  };
  reply.raw.on('close', onClose);
  const finishTracking = context.lifecycle.track(abort);
  try {
    // Most admissions answer at once (no limits to count): awaiting those would cost a microtask hop.
    const admitted = billed.admit();
    if (admitted) await admitted;
    const iterator = job.start(billed.engineCall(abort), billed)[Symbol.asyncIterator]();
    // The first event decides the response: an error here is still a plain JSON error with its status.
    const first = await iterator.next();
    // Which model and replica serve is known now, before the first byte: it goes out as headers.
    const headers = responseHeaders(job.identity.id, billed.headers, billed.attempts, job.stream);
    if (job.stream) await streamEvents(context, reply, job, iterator, first, billed, abort, headers);
    else await collectEvents(context, reply, job, iterator, first, billed, headers);
  } catch (error) {
    const failure = billed.failed(error);
    if (clientLeft && !reply.sent) billed.clientLeft();
    else if (!reply.sent) {
      const headers: Record<string, string> = { 'x-request-id': job.identity.id };
      const admitted = billed.headers;
      for (const name in admitted) headers[name] = admitted[name]!;
      addRouteHeaders(headers, billed.attempts);
      reply.headers(headers);
    }
    throw failure;
  } finally {
    reply.raw.off('close', onClose);
    finishTracking();
    billed.end(abort.aborted);
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
        // Where a replica is lost mid-stream and another continues, the route changes after these headers.
        trailer: 'x-nimbus-route',
      }
    : { 'x-request-id': id };
  for (const name in admitted) headers[name] = admitted[name]!;
  addRouteHeaders(headers, attempts);
  return headers;
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
  billed: BilledCall,
  headers: Record<string, string>,
): Promise<void> {
  let text = job.prefix;
  const toolCalls: ToolCall[] = [];
  // An upstream's whole body, forwarded as it came (see GenerationEvent.raw).
  let body: string | undefined;
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for (let next = first; !next.done; next = await iterator.next()) {
    const event = next.value;
    if (billed.ttftMs === null && firstTokenAt(event)) billed.firstToken();
    if (event.type === 'delta' && event.raw !== undefined) body = event.raw;
    else if (event.type === 'delta') {
      if (event.content) text += event.content;
      for (const call of event.toolCalls ?? [])
        toolCalls.push({ id: call.id ?? '', type: 'function', function: { name: call.function.name ?? '', arguments: call.function.arguments } });
    } else {
      billed.served(event);
      done = event;
    }
  }
  if (!done) throw new Error('engine ended without a done event');
  reply.headers(headers);
  if (body !== undefined) await reply.type('application/json; charset=utf-8').send(body);
  else await reply.send(job.format.whole(job.identity, text, toolCalls, done.finishReason, usageToSend(context, done.usage, done.compute)));
}

async function streamEvents(
  context: ServerContext,
  reply: FastifyReply,
  job: GenerationJob,
  iterator: AsyncIterator<GenerationEvent>,
  first: IteratorResult<GenerationEvent>,
  billed: BilledCall,
  cancel: Cancellation,
  headers: Record<string, string>,
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, headers);
  billed.httpStatus = 200;
  const metrics = context.metrics.interTokenLatency.labels(billed.attempts[billed.attempts.length - 1]?.model ?? job.identity.model);
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
        if (billed.ttftMs === null && firstTokenAt(event)) billed.firstToken(now);
        else if (lastChunkAt > 0) metrics.observe((now - lastChunkAt) / 1000);
        lastChunkAt = now;
        const waiting = event.sse !== undefined ? writeFrames(event.sse) : write(event.raw ?? job.format.delta(job.identity, event.content, event.toolCalls));
        if (waiting) await waiting;
      } else {
        billed.served(event);
        if (passthrough) continue;
        await write(job.format.finish(job.identity, event.finishReason));
        if (job.includeUsage) await write(job.format.usage(job.identity, usageToSend(context, event.usage, event.compute)));
      }
    }
  } catch (error) {
    // Mid-stream failures end the stream with an error event in OpenAI's shape, never a hang.
    const failure: NimbusError = billed.failed(error, true);
    if (failure.code === 'internal_error') context.logger.error({ err: error, requestId: job.identity.id }, 'generation failed mid-stream');
    await write(failure.toJSON());
  }
  // A try cut mid-stream and continued elsewhere changed the route after the headers went: it goes as a trailer.
  const route = billed.attempts.length > 0 ? formatRoute(billed.attempts) : undefined;
  if (route !== undefined && route !== headers['x-nimbus-route'] && !raw.destroyed) raw.addTrailers({ 'x-nimbus-route': route });
  // The last frame goes with the end of the response: one write fewer.
  if (cancel.aborted || raw.destroyed) raw.end();
  else raw.end('data: [DONE]\n\n');
}

/** The usage a client gets; a pool worker adds its compute report for the control plane's ledger. */
function usageToSend(context: ServerContext, usage: Usage, compute: ComputeReport | undefined): Usage {
  if (!context.reportCompute || !compute) return usage;
  return { ...usage, nimbus_compute: { device_class: compute.deviceClass, seconds: compute.seconds } } as Usage;
}
