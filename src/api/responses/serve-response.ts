/**
 * Runs one response for an HTTP request: admitted as one billed call (its row has the response's
 * id; later turns of its tool loop are billed calls of their own with it as parent), then the one
 * tool loop (src/tools/tool-loop.ts) over the request's executors, reported through a
 * ResponseBuilder: as OpenAI's server-sent events (each with `sequence_number`, no `[DONE]`) or as
 * one JSON body. A stored response's write starts before its closing event, and reads of it wait
 * for the write, so a retrieve after the answer always finds it; on PostgreSQL the closing event
 * also waits for the commit, so another control plane finds it too (decision 0020).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Cancellation } from '../../core/cancellation.js';
import type { EngineCall, GenerationEvent } from '../../core/engine.js';
import type { NimbusError } from '../../core/errors.js';
import type { ModelRoute } from '../../core/model-route.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import type { Usage } from '../../core/openai/response-types.js';
import type { Principal } from '../../core/principal.js';
import type { Limits } from '../../core/tenancy-store.js';
import { ResponseBuilder, type ResponseEvent, type ResponseStatus } from '../../responses/response-builder.js';
import type { Item } from '../../responses/response-items.js';
import type { ResponseRecords } from '../../responses/response-records.js';
import { truncatingChat } from '../../responses/truncation.js';
import type { BilledCall } from '../../tenancy/accounting/billed-call.js';
import { formatRoute } from '../../tenancy/accounting/format-route.js';
import { estimateChatPromptTokens } from '../../tenancy/estimate-prompt-tokens.js';
import { runToolLoop, type LoopEvent, type ToolExecutor } from '../../tools/tool-loop.js';
import { firstTurn, laterTurn } from '../billed-turns.js';
import type { HeldAnswer } from '../apps/held-answer.js';
import type { StoredAnswer } from '../idempotency-key.js';
import { addRouteHeaders } from '../route-headers.js';
import type { ServerContext } from '../server-context.js';
import type { RequestTools } from './plan-response.js';
import type { ServerToolItems } from './server-tool-items.js';

/** Everything a response needs, checked and resolved by the route. */
export interface ResponsePlan {
  /** The response object as it starts (`in_progress`, every echoed request field set). */
  response: Record<string, unknown> & { id: string; created_at: number; model: string };
  route: ModelRoute;
  /** The conversation and sampling for the first turn (tools are the executors'). */
  chat: ChatCompletionRequest;
  executors: ToolExecutor[];
  /** How calls to server-side tools become output items (file search, devices). */
  serverItems: ServerToolItems;
  /** The final answer's annotations (file citations), given its text. */
  citations: (text: string) => Array<Record<string, unknown>>;
  /** Whether a tool call had an effect outside Nimbus (a device command), so a retry would act again. */
  acted: () => boolean;
  /** Before the first turn: MCP servers listed, their `mcp_list_tools` items. */
  setUp: RequestTools['setUp'];
  /** After the response: MCP sessions ended. */
  close: RequestTools['close'];
  /** Calls the client answered in this request, run before the first turn. */
  resume: RequestTools['resume'];
  maxSteps: number;
  maxOutputTokens: number | undefined;
  contextLength: number | undefined;
  truncation: 'auto' | 'disabled';
  stream: boolean;
  store: boolean;
  previousResponseId: string | null;
  inputItems: Item[];
  /** The app and version it serves (ledger rows of every turn); absent outside apps. */
  app?: { id: string; version: string };
  /** The app's own limits and budget, reserved with the key's and the tenant's. */
  appLimits?: { id: string; limits: Limits } | undefined;
  /** Runs after a completed (or incomplete: cut at max_output_tokens) response, before it is stored and the answer closes (an app's end-user memory). */
  completed?: (response: Record<string, unknown>) => Promise<void>;
  /** An app's post-check: the answer's text is held, checked whole and sent after (api/apps/held-answer.ts). */
  heldAnswer?: HeldAnswer;
}

/** What a cancel request aborts a running response with, so the run can tell it from a client that left. */
export const cancelledByRequest = Symbol('cancelled by POST /v1/responses/{id}/cancel');

export async function serveResponse(
  context: ServerContext,
  records: ResponseRecords,
  request: FastifyRequest,
  reply: FastifyReply,
  plan: ResponsePlan,
  /** Receives what the client was answered (the body, or a stream's closing event), for an `Idempotency-Key` to replay. */
  onAnswer: (answer: StoredAnswer) => void = () => undefined,
): Promise<void> {
  const id = plan.response.id;
  const billed = context.accounting.open({
    requestId: id,
    kind: 'response',
    principal: request.principal,
    model: plan.response.model,
    models: plan.route.models,
    estimate: () => ({
      promptTokens: estimateChatPromptTokens({ messages: plan.chat.messages, tools: plan.executors.flatMap((executor) => executor.definitions) }),
      maxTokens: plan.maxOutputTokens,
      contextLength: plan.contextLength,
    }),
    stream: plan.stream,
    httpRequestId: request.id,
    ...(plan.app ? { app: plan.app } : {}),
    ...(plan.appLimits ? { appLimits: plan.appLimits } : {}),
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
  let untrack = (): void => undefined;
  let saved: Promise<void> | undefined;
  try {
    try {
      const admitted = billed.admit();
      if (admitted) await admitted;
    } catch (error) {
      reply.headers({ 'x-request-id': id });
      throw billed.failed(error);
    }
    const headers: Record<string, string> = { 'x-request-id': id, ...billed.headers };
    const builder = new ResponseBuilder(plan.response, plan.stream ? startStream(reply, headers) : undefined);
    untrack = records.track(id, { tenantId: request.principal.tenantId, cancel: abort, snapshot: () => builder.snapshot() });
    builder.started();
    const { failure, usage } = await run(context, request, plan, billed, builder, abort);
    if (failure && !plan.stream && !abort.aborted) {
      // The official SDKs retry 429 and 5xx unless told not to; after a device command a retry would act again (decision 0005).
      if (plan.acted()) reply.header('x-should-retry', 'false');
      throw failure;
    }
    if (abort.aborted && (clientLeft || abort.reason === cancelledByRequest)) builder.finish('cancelled', usage);
    if (plan.completed && (builder.response.status === 'completed' || builder.response.status === 'incomplete')) await plan.completed(builder.response);
    // Reads of the response here wait for its write from this call on; the answer waits for the
    // commit only where another control plane may be asked for it next (decision 0020).
    saved = plan.store ? saveQuietly(context, records, request, plan, builder) : undefined;
    if (!records.answerBeforeStored) await saved;
    untrack();
    if (plan.stream) {
      onAnswer({ status: 200, stream: true, body: builder.closingEvent() });
      builder.closed();
      const raw = reply.raw;
      const route = billed.attempts.length > 0 ? formatRoute(billed.attempts) : undefined;
      if (route !== undefined && !raw.destroyed) raw.addTrailers({ 'x-nimbus-route': route });
      raw.end();
    } else if (!clientLeft) {
      addRouteHeaders(headers, billed.attempts);
      onAnswer({ status: 200, body: builder.response });
      await reply.headers(headers).send(builder.response);
    }
  } finally {
    untrack();
    reply.raw.off('close', onClose);
    billed.end(abort.aborted);
    plan.close().catch((error: unknown) => context.logger.warn({ err: error, responseId: id }, 'closing MCP sessions failed'));
    // The request is in flight until its response is stored, so a shutdown waits for the write (it never rejects).
    await saved;
    finishTracking();
  }
}

/**
 * Runs the loop into the builder; resolves to the usage of every turn, and the failure that ended it, if any (already on the builder).
 * `request` is the caller: an HTTP request, or a batch's line (its principal, no HTTP id).
 */
export async function run(
  context: ServerContext,
  request: Pick<FastifyRequest, 'principal'> & { id?: string },
  plan: ResponsePlan,
  billed: BilledCall,
  builder: ResponseBuilder,
  abort: Cancellation,
): Promise<{ failure?: NimbusError; usage?: Usage | undefined }> {
  const engineChat = truncatingChat(plan.truncation, { dropped: 0 }, (turn, call) => plan.route.chat(turn, call));
  let turns = 0;
  const chat = (turn: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> =>
    turns++ === 0
      ? firstTurn(billed, engineChat(turn, call))
      : laterTurn(
          context,
          {
            principal: request.principal,
            route: plan.route,
            parent: billed,
            kind: 'response',
            idPrefix: 'rturn-',
            httpRequestId: request.id,
            chat: engineChat,
          },
          turn,
          call,
        );
  let usage: Usage | undefined;
  try {
    await plan.setUp(builder, abort.signal);
    for await (const event of runToolLoop({
      request: plan.chat,
      executors: plan.executors,
      maxSteps: plan.maxSteps,
      maxOutputTokens: plan.maxOutputTokens,
      stream: plan.stream,
      chat,
      call: billed.engineCall(abort),
      resume: plan.resume,
    })) {
      if (event.type === 'done') {
        usage = event.usage;
        report(plan, builder, event);
        // The first turn's row carries that turn's usage (billOnly); the end of the loop sets its status and finish reason.
        billed.served({ type: 'done', finishReason: plan.heldAnswer?.replaced ? 'content_filter' : event.finishReason, usage: event.usage });
        continue;
      }
      if (billed.ttftMs === null && (event.type === 'text' || event.type === 'tool_call')) billed.firstToken();
      report(plan, builder, event);
    }
    if (!usage) throw new Error('the tool loop ended without a done event');
    return { usage };
  } catch (error) {
    const failure = billed.failed(error, plan.stream);
    if (failure.code === 'internal_error') context.logger.error({ err: error, requestId: plan.response.id }, 'response failed');
    if (plan.stream) builder.error(failure.code, failure.message, failure.param);
    builder.finish('failed', failure.usage, { error: { code: failure.code, message: failure.message } });
    return { failure, usage: failure.usage };
  }
}

/** One loop event into the response. */
export function report(plan: ResponsePlan, builder: ResponseBuilder, event: LoopEvent): void {
  switch (event.type) {
    case 'text':
      if (plan.heldAnswer) plan.heldAnswer.hold(event.content);
      else builder.text(event.content);
      return;

    case 'tool_result':
      releaseHeld(plan, builder);
      plan.heldAnswer?.heard(event.outcome.record);
      plan.serverItems.add(builder, event);
      return;
    case 'done': {
      releaseHeld(plan, builder);
      // Calls the client runs come last: the server-side tools of the same turn have run by now.
      for (const call of event.pending) builder.functionCall(call.id, call.function.name, call.function.arguments);
      builder.annotate(plan.citations);
      // A post-check's refusal is OpenAI's content filter: incomplete, for that reason.
      const filtered = plan.heldAnswer?.replaced === true;
      if (plan.heldAnswer) builder.response.post_check = plan.heldAnswer.summary();
      const status: ResponseStatus = event.finishReason === 'length' || filtered ? 'incomplete' : 'completed';
      builder.finish(status, event.usage, status === 'incomplete' ? { incomplete: filtered ? 'content_filter' : 'max_output_tokens' } : {});
      return;
    }
    case 'turn':
    case 'turn_done':
    case 'tool_call':
      return;
  }
}

/** Sends the text an app's post-check held, checked, in one piece. */
function releaseHeld(plan: ResponsePlan, builder: ResponseBuilder): void {
  const text = plan.heldAnswer?.release();
  if (text) builder.text(text);
}

/** Hijacks the reply for server-sent events; returns the event writer. */
function startStream(reply: FastifyReply, headers: Record<string, string>): (event: ResponseEvent) => void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    trailer: 'x-nimbus-route',
  });
  // The events of one tick (response.created and in_progress; a message's added, part added and
  // first delta) leave in one socket write, as chat's chunks do (serve-generation.ts): the socket is
  // corked on the first write of a tick and uncorked once the tick's work is done.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    raw.uncork();
  };
  return (event) => {
    if (raw.destroyed) return;
    if (!corked) {
      corked = true;
      raw.cork();
      process.nextTick(uncork);
    }
    raw.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
}

/** What `records.save` keeps of a finished response: its body as built and the input items of its plan, owned by `principal`. */
export function storedRecord(plan: ResponsePlan, principal: Principal, builder: ResponseBuilder): Parameters<ResponseRecords['save']>[0] {
  return {
    id: plan.response.id,
    tenantId: principal.tenantId,
    keyId: principal.keyId ?? null,
    createdAt: plan.response.created_at * 1000,
    status: String(builder.response.status),
    previousResponseId: plan.previousResponseId,
    body: builder.snapshot(),
    inputItems: plan.inputItems,
  };
}

/** Saves the finished response; a store that fails is logged, and the answer still goes out (it says `store` could not hold it). */
async function saveQuietly(
  context: ServerContext,
  records: ResponseRecords,
  request: FastifyRequest,
  plan: ResponsePlan,
  builder: ResponseBuilder,
): Promise<void> {
  try {
    await records.save(storedRecord(plan, request.principal, builder));
  } catch (error) {
    context.logger.error({ err: error, responseId: plan.response.id }, 'a response could not be stored; it cannot be retrieved or continued');
  }
}
