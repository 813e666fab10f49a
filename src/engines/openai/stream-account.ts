/**
 * What one stream's events say for accounting: tokens (counted, as the estimate where the
 * upstream gives no usage), usage, the finish reason, and the identity a synthesized usage chunk
 * repeats. Parses an event only where it must: before the first token, and once tokens flow only
 * events that a cheap scan says may hold a non-null finish reason, usage or an error.
 */
import type { ComputeReport, GenerationEvent } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { FinishReason, ToolCallDelta, Usage } from '../../core/openai/response-types.js';
import type { Replica } from './replica.js';
import { AttemptFailure, malformedAnswer } from './upstream-failure.js';
import { estimatedUsage, mapFinishReason, optionalCompute, readCompute, readUsage } from './upstream-usage.js';

export interface RelayOptions {
  kind: 'chat' | 'completion';
  /** The client asked for a usage chunk. Nimbus always asks the upstream for one; it reaches the client only if asked for. */
  clientWantsUsage: boolean;
  /** Prompt tokens to record when the upstream gives no usage. */
  estimatePromptTokens: () => number;
}

/** The parts of a chunk accounting reads. */
interface Chunk {
  id?: unknown;
  object?: unknown;
  created?: unknown;
  model?: unknown;
  choices?: Array<{ delta?: { content?: unknown; tool_calls?: unknown; reasoning_content?: unknown }; text?: unknown; finish_reason?: unknown }>;
  usage?: unknown;
  error?: { message?: unknown } | string;
}

type Delta = Extract<GenerationEvent, { type: 'delta' }>;

/** Whether `key` appears with a value other than null (`"usage":{...}`, `"finish_reason": "stop"`). */
function isSet(payload: string, key: string): boolean {
  for (let at = payload.indexOf(key); at !== -1; at = payload.indexOf(key, at + key.length)) {
    let index = at + key.length;
    while (payload.charCodeAt(index) === 32) index += 1;
    if (payload.charCodeAt(index) !== 58) continue;
    index += 1;
    while (payload.charCodeAt(index) === 32) index += 1;
    if (payload.charCodeAt(index) !== 110) return true;
  }
  return false;
}

/** Whether an event may carry a finish reason, usage or an error: only such events are parsed once tokens flow. */
export function mayCarryAccounting(payload: string): boolean {
  return isSet(payload, '"finish_reason"') || isSet(payload, '"usage"') || payload.includes('"error"');
}

export class StreamAccount {
  /** Events that carried a token: the completion-token estimate when the upstream gives no usage. */
  tokenChunks = 0;
  usage: Usage | undefined;
  /** A pool worker's compute report, from its usage chunk. */
  compute: ComputeReport | undefined;
  finishReason: FinishReason | undefined;
  sawDone = false;
  /** The first parsed chunk, whose id and model a synthesized usage chunk repeats. */
  private identity: Chunk | undefined;

  constructor(
    private readonly replica: Replica,
    private readonly options: RelayOptions,
  ) {}

  /** Whether anything the client must see first has come: a token, the finish or usage. */
  get started(): boolean {
    return this.tokenChunks > 0 || this.finishReason !== undefined || this.usage !== undefined;
  }

  /**
   * One whole event: the event to forward, or undefined (`[DONE]`, or a usage chunk the client
   * did not ask for). `readAll` parses it whatever it holds (before the first token). Throws
   * AttemptFailure on an unreadable event or an error event.
   */
  take(payload: string, readAll: boolean): Delta | undefined {
    if (payload === '[DONE]') {
      this.sawDone = true;
      return undefined;
    }
    if (!readAll && !mayCarryAccounting(payload)) {
      this.tokenChunks += 1;
      return { type: 'delta', raw: payload };
    }
    return this.account(payload, this.parse(payload));
  }

  /** The upstream's usage, else the estimate so far. */
  currentUsage(): Usage {
    return this.usage ?? estimatedUsage(this.options.estimatePromptTokens(), this.tokenChunks);
  }

  done(): GenerationEvent {
    return { type: 'done', finishReason: this.finishReason ?? 'stop', usage: this.currentUsage(), servedBy: this.replica.id, ...optionalCompute(this.compute) };
  }

  /** The usage chunk a client asked for when the upstream sent none: the estimate, marked as such. */
  usageChunk(): string {
    const identity = this.identity ?? {};
    return JSON.stringify({
      id: identity.id ?? '',
      object: identity.object ?? (this.options.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'),
      created: identity.created ?? Math.floor(Date.now() / 1000),
      model: identity.model ?? '',
      choices: [],
      usage: this.currentUsage(),
    });
  }

  /** `error` as the end of an incomplete answer: what happened, how far it got, and its usage so far. */
  incomplete(error: NimbusError): NimbusError {
    const message = `${error.message} The answer stopped after ${this.tokenChunks} chunks and is incomplete; retry the request.`;
    return new NimbusError(error.code, message, { status: error.status, usage: this.currentUsage() });
  }

  private parse(payload: string): Chunk {
    let chunk: unknown;
    try {
      chunk = JSON.parse(payload);
    } catch {
      throw malformedAnswer(this.replica.provider, `an event that is not JSON: ${this.replica.provider.redact(payload.slice(0, 200))}`);
    }
    if (chunk === null || typeof chunk !== 'object') throw malformedAnswer(this.replica.provider, 'an event that is not a JSON object');
    const error = (chunk as Chunk).error;
    if (error) {
      const message = typeof error === 'string' ? error : typeof error.message === 'string' ? error.message : JSON.stringify(error);
      const words = `The upstream '${this.replica.id}' reported an error: ${this.replica.provider.redact(message)}`;
      throw new AttemptFailure(new NimbusError('upstream_error', words), true, 'failure');
    }
    return chunk;
  }

  /** Reads a parsed event's usage, finish and token; the event to forward, or undefined for a usage chunk the client did not ask for. */
  private account(payload: string, chunk: Chunk): Delta | undefined {
    this.identity ??= chunk;
    const usage = readUsage(chunk.usage);
    if (usage) {
      this.usage = usage;
      this.compute = readCompute(chunk.usage);
    }
    const choice = chunk.choices?.[0];
    const finish = mapFinishReason(choice?.finish_reason);
    if (finish) this.finishReason = finish;
    if (usage && chunk.choices?.length === 0 && !this.options.clientWantsUsage) return undefined;
    const event: Delta = { type: 'delta', raw: payload };
    const text = this.options.kind === 'chat' ? (choice?.delta?.content ?? choice?.delta?.reasoning_content) : choice?.text;
    if (typeof text === 'string' && text !== '') {
      event.content = text;
      this.tokenChunks += 1;
    } else if (Array.isArray(choice?.delta?.tool_calls) && choice.delta.tool_calls.length > 0) {
      event.toolCalls = choice.delta.tool_calls as ToolCallDelta[];
      this.tokenChunks += 1;
    }
    return event;
  }
}
