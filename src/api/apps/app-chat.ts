/**
 * `/v1/chat/completions` with `model: "app:NAME"`: the app's instructions (with the end user's
 * memory) go first as the system message, its function tools, format and sampling apply, and the
 * request brings the messages. An app with knowledge or devices runs the one tool loop
 * server-side (app-chat-tools.ts), and the answer carries `nimbus.citations` and
 * `nimbus.actions`; so does one with a post-check, whose answer is held for it whole. Any other
 * app's call is a plain chat completion on the app's model chain.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { withMemory } from '../../apps/app-memory.js';
import type { GenerationEvent } from '../../core/engine.js';
import { toNimbusError } from '../../core/errors.js';
import { newTimeOrderedId } from '../../core/ids.js';
import type { ResponseTextFormat } from '../../core/openai/response-request-schema.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import { estimateChatPromptTokens } from '../../tenancy/estimate-prompt-tokens.js';
import { functionExecutor } from '../../tools/function-executor.js';
import type { ChatOutcome } from '../device-chat.js';
import { claimOrReplay, idempotencyKeyOf, settleKey } from '../idempotency-key.js';
import { chatFormat } from '../response-format.js';
import { chatResponseFormat } from '../responses/plan-response.js';
import { checkMaxTokens, contextLengthOf } from '../routes/inference.js';
import { serveGeneration, type GenerationJob } from '../serve-generation.js';
import type { ServerContext } from '../server-context.js';
import { refuseAppField, rememberExchange, resolveAppCall, type AppCall } from './app-call.js';
import { presentedApprovals } from './app-extension.js';
import { endUserOf } from './app-response-request.js';
import { withAppTools } from './app-chat-tools.js';

export async function serveAppChat(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  body: ChatCompletionRequest,
  name: string,
): Promise<void> {
  const raw = request.body as { metadata?: Record<string, string> | null; nimbus?: unknown };
  const call = await resolveAppCall(context, request, name, endUserOf({ user: body.user, metadata: raw.metadata }));
  refuseAppField(call, 'tools', body.tools);
  refuseAppField(call, 'response_format', body.response_format);
  refuseAppField(call, 'temperature', body.temperature);
  refuseAppField(call, 'top_p', body.top_p);
  const approvals = presentedApprovals(call, raw.nimbus);
  request.principal = call.principal;
  const config = call.app.config;
  const instructions = withMemory(config.instructions, call.memory);
  const chat: ChatCompletionRequest = {
    ...body,
    model: call.model,
    messages: instructions ? [{ role: 'system', content: instructions }, ...body.messages] : body.messages,
  };
  if (config.temperature !== undefined) chat.temperature = config.temperature;
  if (config.top_p !== undefined) chat.top_p = config.top_p;
  const format = chatResponseFormat(config.text?.format as ResponseTextFormat | undefined);
  if (format) chat.response_format = format;
  const cap = [body.max_completion_tokens ?? body.max_tokens, config.max_output_tokens].filter((value): value is number => typeof value === 'number');
  if (cap.length > 0) {
    chat.max_completion_tokens = Math.min(...cap);
    chat.max_tokens = null;
  }
  const functions = config.tools && config.tools.length > 0 ? functionExecutor(config.tools) : undefined;
  if (functions) chat.tools = [...functions.definitions];
  checkMaxTokens(call.route, chat.max_completion_tokens, 'max_completion_tokens');
  const base: GenerationJob = {
    kind: 'chat',
    identity: { id: newTimeOrderedId('chatcmpl-'), created: Math.floor(Date.now() / 1000), model: call.model },
    format: chatFormat,
    stream: Boolean(body.stream),
    includeUsage: Boolean(body.stream_options?.include_usage),
    prefix: '',
    start: (engineCall) => call.route.chat(chat, engineCall),
    models: call.route.models,
    estimate: () => ({
      promptTokens: estimateChatPromptTokens(chat),
      maxTokens: chat.max_completion_tokens ?? undefined,
      contextLength: contextLengthOf(call.route),
    }),
    app: call.billing,
    appLimits: call.limits,
  };
  // A post-check needs the whole answer: the loop reads the turn whole, whatever the engine streams.
  const serverSide =
    (config.vector_store_ids?.length ?? 0) > 0 || (config.devices !== undefined && config.devices.length > 0) || config.post_check !== undefined;
  const outcome: ChatOutcome = { answer: undefined, acted: false };
  const job = serverSide ? withAppTools(context, request, call, chat, base, functions, { approvals, outcome }) : base;
  const serve = (): Promise<void> => serveGeneration(context, request, reply, remembering(context, call, body, job));
  // An app that may act on devices runs once per Idempotency-Key, as chat's nimbus.devices does (api/idempotency-key.ts).
  const devices = context.devices;
  const key = devices && config.devices !== undefined && config.devices.length > 0 ? idempotencyKeyOf(request) : undefined;
  if (!devices || key === undefined) return serve();
  if (!(await claimOrReplay(devices.gateway, request, reply, key))) return;
  try {
    await serve();
  } catch (error) {
    const failure = toNimbusError(error);
    outcome.answer = { status: failure.status, body: failure.toJSON() };
    throw error;
  } finally {
    await settleKey(devices.gateway, request, key, outcome);
  }
}

/** The job, adding the exchange to the end user's memory once its answer is whole (not awaited by the answer). */
function remembering(context: ServerContext, call: AppCall, body: ChatCompletionRequest, job: GenerationJob): GenerationJob {
  if (call.endUser === undefined) return job;
  const last = [...body.messages].reverse().find((message) => message.role === 'user');
  const asked = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  return {
    ...job,
    start: (engineCall, billed) => collect(job.start(engineCall, billed), (answer) => void rememberExchange(context, call, asked, answer)),
  };
}

async function* collect(events: AsyncIterable<GenerationEvent>, done: (text: string) => void): AsyncGenerator<GenerationEvent> {
  let text = '';
  for await (const event of events) {
    if (event.type === 'delta' && event.content) text += event.content;
    if (event.type === 'done') done(text);
    yield event;
  }
}
