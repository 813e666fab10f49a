/**
 * The `nimbus` extension of `/v1/chat/completions`: with `"nimbus": {"devices": true}` (or a list
 * of device ids) Nimbus runs the tool loop server-side over the devices in the key's scope, and
 * the response gains `nimbus.actions`, every action taken and its outcome. Without it, the job
 * passes through unchanged.
 *
 *   "nimbus": {
 *     "devices": true | ["lamp-1", ...],   which devices become tools (always within the key's scope)
 *     "approvals": ["apr_..."],            human approvals presented by the client, never by the model
 *     "conversation": "id",                groups requests in the audit log (default: a new id)
 *     "untrusted": true,                   the messages hold untrusted text: every actuation needs approval
 *     "max_steps": 4                       model turns that may call tools
 *   }
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { NimbusError, toNimbusError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { ModelRoute } from '../core/model-route.js';
import { parseRequest } from '../core/openai/parse-request.js';
import type { ChatCompletionRequest } from '../core/openai/request-schemas.js';
import type { GenerationEvent } from '../core/engine.js';
import { runDeviceToolLoop, type LoopAction } from '../devices/tool-loop.js';
import { newToolSession } from '../devices/tool-session.js';
import { firstTurn, laterTurn } from './billed-turns.js';
import { actionView } from './device-views.js';
import type { StoredAnswer } from './idempotency-key.js';
import type { CompletionFormat } from './response-format.js';
import type { GenerationJob } from './serve-generation.js';
import type { ServerContext } from './server-context.js';

const optionsSchema = z.strictObject({
  devices: z.union([z.literal(true), z.array(z.string().min(1)).min(1).max(64)]),
  approvals: z.array(z.string().min(1).max(64)).max(16).optional(),
  conversation: z.string().min(1).max(128).optional(),
  untrusted: z.boolean().optional(),
  max_steps: z.number().int().min(1).max(16).optional(),
});

/** What a device chat answered and did, filled in as it runs: what its `Idempotency-Key` keeps. */
export interface ChatOutcome {
  /** The whole body, the final chunk of a stream (`stream`), or the error that followed actions. */
  answer: StoredAnswer | undefined;
  /** Whether it proposed anything to a device (a command may have been sent). */
  acted: boolean;
}

/** Whether a chat request asks for the device tool loop (`nimbus` in its body). */
export function usesDeviceTools(request: FastifyRequest): boolean {
  const extension = (request.body as { nimbus?: unknown } | null)?.nimbus;
  return extension !== undefined && extension !== null;
}

/** Returns the job unchanged, or one that runs the device tool loop when the request asks for it. */
export function withDeviceTools(
  context: ServerContext,
  request: FastifyRequest,
  body: ChatCompletionRequest,
  route: ModelRoute,
  job: GenerationJob,
  outcome: ChatOutcome = { answer: undefined, acted: false },
): GenerationJob {
  const extension = (request.body as { nimbus?: unknown }).nimbus;
  if (extension === undefined || extension === null) return job;
  const options = parseRequest(z.strictObject({ nimbus: optionsSchema }), { nimbus: extension }).nimbus;
  const devices = context.devices;
  if (!devices) {
    throw new NimbusError(
      'unsupported_parameter',
      "This server runs without device support, so 'nimbus.devices' cannot be used; start it with an MQTT broker (mqttPort or mqttUrl).",
      {
        param: 'nimbus',
      },
    );
  }
  if (body.tools && body.tools.length > 0) {
    throw new NimbusError('unsupported_value', "Send either 'tools' or 'nimbus.devices': the device tool loop supplies the tools itself.", { param: 'tools' });
  }
  const principal = request.principal;
  const tools = devices.gateway.tools(principal, options.devices);
  if (tools.length === 0) {
    throw new NimbusError(
      'invalid_value',
      "None of the devices asked for in 'nimbus.devices' is registered and in this key's device scope. GET /v1/devices lists them.",
      {
        param: 'nimbus.devices',
      },
    );
  }
  const untrusted = options.untrusted === true || body.messages.some((message) => message.role === 'tool');
  const session = newToolSession(principal, 'chat', {
    model: body.model,
    conversation: options.conversation ?? newId('conv_'),
    approvals: options.approvals ?? [],
  });
  const actions: LoopAction[] = [];
  const summary = (): object => ({
    conversation: session.conversation,
    untrusted_context: session.untrusted,
    actions: actions.map((action) => actionView(action.report, action.toolCallId)),
  });
  // The first turn is this request's own billed call; its prompt also holds the tools' definitions.
  const toolsBytes = Buffer.byteLength(JSON.stringify(tools.map((tool) => [tool.name, tool.description, tool.grammarParameters])));
  return {
    ...job,
    format: withNimbusSummary(job.format, summary, outcome),
    estimate: () => {
      const estimate = job.estimate();
      return { ...estimate, promptTokens: estimate.promptTokens + toolsBytes + toolsAllowance };
    },
    start: (call, billed) => {
      let turns = 0;
      return loopAfter(untrusted ? devices.gateway.taint(session, 'the client sent untrusted messages') : Promise.resolve(), summary, actions, outcome, {
        request: body,
        tools,
        session,
        maxSteps: options.max_steps ?? devices.settings.maxToolSteps,
        chat: (turn, turnCall) =>
          turns++ === 0
            ? firstTurn(billed, route.chat(turn, turnCall))
            : laterTurn(context, { principal, route, parent: billed, kind: 'chat', idPrefix: 'chatcmpl-', httpRequestId: request.id }, turn, turnCall),
        call,
        callTool: (name, args) => devices.gateway.callTool(session, name, args),
        onAction: (action) => {
          outcome.acted ||= action.report.kind !== 'read';
          actions.push(action);
        },
      });
    },
  };
}

/**
 * The tool loop, once `ready` resolved (the session's taint is stored before any tool call). A
 * failure after actions were taken (a later turn's upstream, a budget) still tells the client
 * what was done, beside the error, and that a retry would act again (`x-should-retry: false`).
 */
async function* loopAfter(
  ready: Promise<void>,
  summary: () => object,
  actions: readonly LoopAction[],
  outcome: ChatOutcome,
  options: Parameters<typeof runDeviceToolLoop>[0],
): AsyncGenerator<GenerationEvent> {
  await ready;
  try {
    yield* runDeviceToolLoop(options);
  } catch (error) {
    if (actions.length === 0) throw error;
    const failure = toNimbusError(error);
    const told = new NimbusError(
      failure.code,
      `${failure.message} Actions were already taken before this failure: 'nimbus.actions' lists them with their outcomes.`,
      {
        param: failure.param,
        ...(failure.statusOverride !== undefined ? { status: failure.statusOverride } : {}),
        headers: { ...failure.headers, 'x-should-retry': 'false' },
        ...(failure.usage ? { usage: failure.usage } : {}),
        details: failure.details,
        extra: { ...failure.extra, nimbus: summary() },
        cause: error,
      },
    );
    outcome.answer = { status: told.status, body: told.toJSON() };
    throw told;
  }
}

/** Room for the tool-calling instructions and the untrusted-data note the loop adds to a turn's prompt. */
const toolsAllowance = 1024;

/**
 * A format that adds `nimbus` (the actions; an app's also its name and citations) to the whole
 * body, and to the final chunk of a stream; each is kept in `outcome` as the answer an
 * `Idempotency-Key` replays.
 */
export function withNimbusSummary(format: CompletionFormat, summary: () => object, outcome: ChatOutcome): CompletionFormat {
  return {
    ...format,
    finish: (identity, finishReason) => {
      const chunk = { ...format.finish(identity, finishReason), nimbus: summary() };
      outcome.answer = { status: 200, body: chunk, stream: true };
      return chunk;
    },
    whole: (identity, text, toolCalls, finishReason, usage) => {
      const body = { ...format.whole(identity, text, toolCalls, finishReason, usage), nimbus: summary() };
      outcome.answer = { status: 200, body };
      return body;
    },
  };
}
