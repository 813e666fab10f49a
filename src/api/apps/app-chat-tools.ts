/**
 * The tool loop of an app's chat completion, for an app with knowledge, devices or a post-check:
 * the app's vector stores (file search), its devices (the gateway: policy, approvals, caps,
 * audit) and its function tools on the one tool loop, billed turn by turn as chat's device loop
 * is. The answer is the final turn's text (buffered: the loop decides what is final, and a
 * post-check needs it whole), with calls to the client's functions as tool calls, and
 * `nimbus: {citations, actions, post_check}`: the files the answer drew on, every device action
 * with its outcome, and what the app's post-check decided.
 */
import type { FastifyRequest } from 'fastify';
import { newId } from '../../core/ids.js';
import type { GenerationEvent } from '../../core/engine.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import { deviceExecutor, type LoopAction } from '../../devices/tool-loop.js';
import { newToolSession } from '../../devices/tool-session.js';
import { fileSearchExecutor, type FileSearchRecord } from '../../knowledge/file-search-executor.js';
import { runToolLoop, type ToolExecutor } from '../../tools/tool-loop.js';
import { firstTurn, laterTurn } from '../billed-turns.js';
import { withNimbusSummary, type ChatOutcome } from '../device-chat.js';
import { actionView } from '../device-views.js';
import type { GenerationJob } from '../serve-generation.js';
import type { ServerContext } from '../server-context.js';
import type { AppCall } from './app-call.js';
import { heldAnswerFor, type HeldAnswer } from './held-answer.js';

/** Model turns that may call tools, for an app's chat. */
const maxSteps = 4;

export function withAppTools(
  context: ServerContext,
  request: FastifyRequest,
  call: AppCall,
  chat: ChatCompletionRequest,
  job: GenerationJob,
  functions: ToolExecutor | undefined,
  /**
   * `approvals`: what the client presents for the app's device commands (`nimbus.approvals`);
   * `outcome`: filled with the answer and whether a device was acted on, for an `Idempotency-Key`.
   */
  extras: { approvals?: readonly string[]; outcome?: ChatOutcome } = {},
): GenerationJob {
  const outcome = extras.outcome ?? { answer: undefined, acted: false };
  const principal = call.principal;
  const config = call.app.config;
  const searches: FileSearchRecord[] = [];
  const actions: LoopAction[] = [];
  const executors: ToolExecutor[] = [];
  const search = context.knowledgeSearch;
  if (search && config.vector_store_ids && config.vector_store_ids.length > 0) {
    executors.push(
      fileSearchExecutor(
        search,
        principal,
        { vectorStoreIds: config.vector_store_ids, maxNumResults: 10, scoreThreshold: 0, embeddingWeight: 1, textWeight: 1 },
        (record) => searches.push(record),
      ),
    );
  }
  const devices = context.devices;
  let conversation: string | null = null;
  if (devices && config.devices !== undefined && config.devices.length > 0) {
    const tools = devices.gateway.tools(principal, config.devices === '*' ? true : config.devices);
    const session = newToolSession(principal, 'chat', { model: call.model, conversation: newId('conv_'), approvals: extras.approvals ?? [] });
    conversation = session.conversation;
    if (tools.length > 0)
      executors.push(
        deviceExecutor({
          tools,
          session,
          callTool: (name, args) => devices.gateway.callTool(session, name, args),
          onAction: (action) => {
            outcome.acted ||= action.report.kind !== 'read';
            actions.push(action);
          },
        }),
      );
  }
  if (functions) executors.push(functions);
  const held = heldAnswerFor(context, call, job.identity.id);
  const summary = (): object => {
    const files = new Map<string, string>();
    for (const record of searches) for (const hit of record.results) files.set(hit.fileId, hit.filename);
    return {
      app: { name: call.app.name, version: call.app.liveVersion },
      citations: [...files].map(([fileId, filename]) => ({ type: 'file_citation', file_id: fileId, filename })),
      ...(conversation !== null ? { conversation, actions: actions.map((action) => actionView(action.report, action.toolCallId)) } : {}),
      ...(held ? { post_check: held.summary() } : {}),
    };
  };
  const definitionsBytes = Buffer.byteLength(JSON.stringify(executors.flatMap((executor) => executor.definitions)));
  // The executors supply every tool the model sees (the app's functions among them).
  const withoutTools: ChatCompletionRequest = { ...chat, tools: null };
  return {
    ...job,
    format: withNimbusSummary(job.format, summary, outcome),
    estimate: () => {
      const estimate = job.estimate();
      return { ...estimate, promptTokens: estimate.promptTokens + definitionsBytes + 1024 };
    },
    start: (engineCall, billed) => {
      let turns = 0;
      return loop(executors, held, {
        request: withoutTools,
        chat: (turn, turnCall) =>
          turns++ === 0
            ? firstTurn(billed, call.route.chat(turn, turnCall))
            : laterTurn(
                context,
                { principal, route: call.route, parent: billed, kind: 'chat', idPrefix: 'chatcmpl-', httpRequestId: request.id },
                turn,
                turnCall,
              ),
        call: engineCall,
      });
    },
  };
}

/** The loop as one answer: the final turn's text, then the client's function calls, then `done` with every turn's usage. */
async function* loop(
  executors: readonly ToolExecutor[],
  held: HeldAnswer | undefined,
  options: Pick<Parameters<typeof runToolLoop>[0], 'request' | 'chat' | 'call'>,
): AsyncGenerator<GenerationEvent> {
  let lastText = '';
  for await (const event of runToolLoop({ ...options, executors, maxSteps })) {
    if (event.type === 'turn_done') lastText = event.text;
    else if (event.type === 'tool_result') held?.heard(event.outcome.record);
    else if (event.type === 'done') {
      if (held) {
        held.hold(lastText);
        lastText = held.release();
      }
      const toolCalls = event.pending.map((pending, index) => ({
        index,
        id: pending.id,
        type: 'function' as const,
        function: { name: pending.function.name, arguments: pending.function.arguments },
      }));
      if (lastText || toolCalls.length > 0) yield { type: 'delta', ...(lastText ? { content: lastText } : {}), ...(toolCalls.length > 0 ? { toolCalls } : {}) };
      // A post-check's refusal is OpenAI's content filter, in the answer and the request log.
      yield { type: 'done', finishReason: held?.replaced ? 'content_filter' : event.finishReason, usage: event.usage };
    }
  }
}
