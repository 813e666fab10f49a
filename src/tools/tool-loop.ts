/**
 * The server-side tool loop, one for every caller (chat completions' `nimbus.devices`,
 * `/v1/responses`): the model proposes tool calls (grammar-enforced on the llama engine, so even a
 * tiny model's calls are valid JSON), each executor runs the calls to its own tools, the results go
 * back to the model, and the loop repeats until the model answers without a tool, calls a tool the
 * client runs itself (then the loop returns those calls), a call waits on a person (an approval), or the step budget is spent (a last turn
 * with tools off gives the final answer). Every turn is reported as it happens, so a caller can
 * stream it; what each action did comes from its executor, never from the model's narration.
 */
import type { EngineCall, GenerationEvent } from '../core/engine.js';
import type { ChatCompletionRequest, ChatMessage, ToolDefinition } from '../core/openai/request-schemas.js';
import type { FinishReason, ToolCall, Usage } from '../core/openai/response-types.js';
import { TurnReader } from './read-turn.js';

/** What one call of a server-side tool gave: what the model sees next, and what the caller records. */
export interface ToolOutcome {
  /** The tool message's content the model gets (JSON text). */
  output: string;
  /** The executor's own account of it (a device action's report, search results), for the caller. */
  record?: unknown;
  /** Someone outside the loop must act first (a person grants an approval): the loop ends after this turn's calls. */
  halt?: boolean;
}

/** Runs the calls to one kind of tool. The loop knows no kind; docs/extending.md, "Add a tool kind". */
export interface ToolExecutor {
  /** `device`, `file_search`, `function`, ... */
  readonly kind: string;
  /** The functions the model sees for this executor's tools (names unique across executors). */
  readonly definitions: readonly ToolDefinition[];
  /** Tools the client runs itself (`function` tools): the loop returns a turn's calls to them instead of running them. */
  readonly clientSide?: boolean;
  /**
   * Whether this executor also takes a call to a name it does not define (the device executor
   * takes every `DEVICE__...` name, so the gateway refuses and audits a call to a device outside
   * the key's scope, rather than the loop answering it quietly).
   */
  claims?(name: string): boolean;
  /**
   * Runs one call (server-side executors); throwing fails the whole request. `engineCall` is the
   * loop's: its request id is the parent of billed work the tool does (a search's query
   * embedding), its cancellation the request's.
   */
  run?(call: ToolCall, step: number, engineCall?: EngineCall): Promise<ToolOutcome>;
  /** A turn's calls to this executor, before any of them runs (a device cap plans a turn as a whole); `endTurn` after. */
  beginTurn?(calls: readonly ToolCall[]): void;
  endTurn?(): void;
  /** A system message the next turn's prompt must hold (the untrusted-data warning), if any. */
  note?(): string | undefined;
}

/** What the loop reports, in order: each turn's start, its text, its calls, their results, the end. */
export type LoopEvent =
  | { type: 'turn'; step: number }
  | { type: 'text'; step: number; content: string }
  | { type: 'tool_call'; step: number; call: ToolCall; kind: string }
  | { type: 'tool_result'; step: number; call: ToolCall; kind: string; outcome: ToolOutcome }
  | { type: 'turn_done'; step: number; text: string; toolCalls: readonly ToolCall[]; finishReason: FinishReason; usage: Usage }
  /** The end: the finish reason, the usage of every turn, and the calls the client must run (client-side tools). */
  | { type: 'done'; finishReason: FinishReason; usage: Usage; pending: readonly ToolCall[] };

export interface ToolLoopOptions {
  /** The conversation and sampling; its `tool_choice` applies to the first turn, later turns use `auto`. */
  request: ChatCompletionRequest;
  executors: readonly ToolExecutor[];
  /** Model turns that may call tools; one more turn (tools off) gives the final answer. */
  maxSteps: number;
  /** Output tokens all turns together may generate; a turn gets what is left. */
  maxOutputTokens?: number | undefined;
  /** Whether turns are asked for as streams (the caller streams them on); else whole. */
  stream?: boolean;
  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent>;
  call: EngineCall;
  /**
   * Calls an earlier response halted on and the client has now answered (an approved or denied
   * MCP call), each run before the first turn by the executor that halted on it and no other, so
   * an answer meant for one kind can never reach another (a device).
   */
  resume?: ReadonlyArray<{ call: ToolCall; executor: ToolExecutor }>;
}

/** Runs the loop, reporting every turn as it happens. */
export async function* runToolLoop(options: ToolLoopOptions): AsyncGenerator<LoopEvent> {
  const messages: ChatMessage[] = [...options.request.messages];
  const definitions = options.executors.flatMap((executor) => executor.definitions);
  const owners = new Map<string, ToolExecutor>();
  for (const executor of options.executors) for (const definition of executor.definitions) owners.set(definition.function.name, executor);
  const ownerOf = (name: string): ToolExecutor | undefined => owners.get(name) ?? options.executors.find((executor) => executor.claims?.(name));
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } };
  let left = options.maxOutputTokens;
  const resumed = options.resume ?? [];
  if (resumed.length > 0) {
    messages.push({ role: 'assistant', content: null, tool_calls: resumed.map((entry) => entry.call) });
    for (const { call, executor } of resumed) {
      const outcome = executor.run ? await executor.run(call, 0, options.call) : unknownTool(call);
      yield { type: 'tool_result', step: 0, call, kind: executor.kind, outcome };
      messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.output });
    }
  }
  for (let step = 0; ; step += 1) {
    const final = step >= options.maxSteps;
    for (const executor of options.executors) {
      const note = executor.note?.();
      if (note && !messages.some((message) => message.role === 'system' && message.content === note)) messages.unshift({ role: 'system', content: note });
    }
    const turnRequest: ChatCompletionRequest = {
      ...options.request,
      stream: options.stream ?? false,
      stream_options: options.stream ? { include_usage: true } : null,
      // A copy: an engine may keep the request, and this conversation grows after the turn.
      messages: [...messages],
      ...(left !== undefined ? { max_completion_tokens: left, max_tokens: null } : {}),
    };
    if (definitions.length > 0) {
      turnRequest.tools = definitions;
      turnRequest.tool_choice = final ? 'none' : step === 0 ? (options.request.tool_choice ?? 'auto') : 'auto';
    }
    yield { type: 'turn', step };
    const reader = new TurnReader();
    for await (const event of options.chat(turnRequest, options.call)) {
      const added = reader.take(event);
      if (added) yield { type: 'text', step, content: added };
    }
    if (!reader.usage) throw new Error('the engine ended a turn without a done event');
    addUsage(usage, reader.usage);
    if (left !== undefined) left = Math.max(0, left - reader.usage.completion_tokens);
    const calls = reader.toolCalls;
    yield { type: 'turn_done', step, text: reader.text, toolCalls: calls, finishReason: reader.finishReason, usage: reader.usage };
    for (const call of calls) yield { type: 'tool_call', step, call, kind: ownerOf(call.function.name)?.kind ?? 'unknown' };
    if (calls.length === 0 || final || options.call.cancel.aborted) {
      yield { type: 'done', finishReason: calls.length > 0 ? 'length' : reader.finishReason, usage, pending: [] };
      return;
    }
    messages.push({ role: 'assistant', content: reader.text || null, tool_calls: calls });
    // Server-side tools run first, a turn's calls to one executor planned together; client-side calls are returned after.
    const pending = calls.filter((call) => ownerOf(call.function.name)?.clientSide);
    const served = calls.filter((call) => !ownerOf(call.function.name)?.clientSide);
    let halted = false;
    for (const executor of options.executors) executor.beginTurn?.(served.filter((call) => ownerOf(call.function.name) === executor));
    try {
      for (const call of served) {
        const executor = ownerOf(call.function.name);
        const outcome = executor?.run ? await executor.run(call, step, options.call) : unknownTool(call);
        halted ||= outcome.halt === true;
        yield { type: 'tool_result', step, call, kind: executor?.kind ?? 'unknown', outcome };
        messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.output });
      }
    } finally {
      for (const executor of options.executors) executor.endTurn?.();
    }
    if (pending.length > 0 || halted) {
      yield { type: 'done', finishReason: 'tool_calls', usage, pending };
      return;
    }
    if (left === 0) {
      yield { type: 'done', finishReason: 'length', usage, pending: [] };
      return;
    }
  }
}

/** A call to a tool no executor has (an upstream model may invent one): the model is told so. */
function unknownTool(call: ToolCall): ToolOutcome {
  return { output: JSON.stringify({ error: `There is no tool named '${call.function.name}'.` }) };
}

function addUsage(total: Usage, turn: Usage): void {
  total.prompt_tokens += turn.prompt_tokens;
  total.completion_tokens += turn.completion_tokens;
  total.total_tokens += turn.total_tokens;
  total.prompt_tokens_details!.cached_tokens += turn.prompt_tokens_details?.cached_tokens ?? 0;
  if (turn.estimated) total.estimated = true;
}
