/**
 * What one stream's events say for accounting: tokens (counted, as the estimate where the
 * upstream gives no usage), usage, the finish reason, and the identity a synthesized usage chunk
 * repeats. Once tokens flow, only events that a cheap scan says may hold a non-null finish
 * reason, usage or an error are read at all; and an event of the usual shape is read by scanning
 * for its few fields, not parsed: JSON.parse of an event and the objects it builds cost 2.5-5 µs
 * an event in the server (~14 µs of a short stream's ~160 µs), the scan a fraction of that.
 * Anything unusual (an error, tool calls, an odd value) is parsed as before.
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
  /**
   * Read every event and hand on parsed deltas (text, tool calls) without the upstream's bytes;
   * events that carry neither (the role chunk, the finish, usage) only inform accounting, and the
   * HTTP layer writes its own. The pool's replicas stream so: the pool engine must know the text
   * so far to continue a stream on another replica.
   */
  parse?: boolean;
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

const quote = 34;
const backslash = 92;
const colon = 58;
const openBrace = 123;
const closeBrace = 125;
const openBracket = 91;
const closeBracket = 93;

function skipSpace(text: string, index: number): number {
  for (let code = text.charCodeAt(index); code === 32 || code === 9 || code === 10 || code === 13; code = text.charCodeAt(index)) index += 1;
  return index;
}

/**
 * Where the value of `key` (quoted: `"usage"`) starts, at its first appearance as a key whose
 * value is not null; -1 if none. Text cannot fake a key: inside a JSON string every quote is
 * escaped, so the key's closing quote followed by a colon only occurs where it is a key.
 */
export function valueOf(payload: string, key: string, from = 0): number {
  for (let at = payload.indexOf(key, from); at !== -1; at = payload.indexOf(key, at + key.length)) {
    let index = skipSpace(payload, at + key.length);
    if (payload.charCodeAt(index) !== colon) continue;
    index = skipSpace(payload, index + 1);
    if (!payload.startsWith('null', index)) return index;
  }
  return -1;
}

/** The index past the closing quote of the JSON string whose opening quote is at `start`; -1 if it never closes. */
function stringEnd(text: string, start: number): number {
  for (let at = text.indexOf('"', start + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === backslash) slashes += 1;
    if (slashes % 2 === 0) return at + 1;
  }
  return -1;
}

/** The index past the `}` closing the JSON object that opens at `start`, braces counted outside strings; -1 if it never closes. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  for (let index = start; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === quote) {
      const end = stringEnd(text, index);
      if (end === -1) return -1;
      index = end - 1;
    } else if (code === openBrace) depth += 1;
    else if (code === closeBrace && (depth -= 1) === 0) return index + 1;
  }
  return -1;
}

/**
 * The text of the first string value of `key`, where other values of the key (logprobs'
 * `content` arrays) come first; undefined if it has none; null if it is not a valid string.
 */
function stringOf(payload: string, key: string): string | null | undefined {
  for (let at = valueOf(payload, key); at !== -1; at = valueOf(payload, key, at)) {
    if (payload.charCodeAt(at) !== quote) continue;
    const end = stringEnd(payload, at);
    if (end === -1) return null;
    const inner = payload.slice(at + 1, end - 1);
    if (!inner.includes('\\')) return inner;
    try {
      return JSON.parse(payload.slice(at, end)) as string;
    } catch {
      return null;
    }
  }
  return undefined;
}

/** Whether an event may carry a finish reason, usage or an error: only such events are read once tokens flow. */
export function mayCarryAccounting(payload: string): boolean {
  return valueOf(payload, '"finish_reason"') !== -1 || valueOf(payload, '"usage"') !== -1 || payload.includes('"error"');
}

/** What accounting reads from one event. */
interface Reading {
  text: string | undefined;
  toolCalls: ToolCallDelta[] | undefined;
  finish: FinishReason | undefined;
  /** The `usage` value as sent (readUsage and readCompute make sense of it). */
  usage: unknown;
  /** `choices` is an empty list: a usage chunk. */
  noChoices: boolean;
}

export class StreamAccount {
  /** Events that carried a token: the completion-token estimate when the upstream gives no usage. */
  tokenChunks = 0;
  usage: Usage | undefined;
  /** A pool worker's compute report, from its usage chunk. */
  compute: ComputeReport | undefined;
  finishReason: FinishReason | undefined;
  sawDone = false;
  /** The first event read, whose id and model a synthesized usage chunk repeats (parsed only then). */
  private firstEvent: string | undefined;

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
   * did not ask for). `readAll` reads it whatever it holds (before the first token). Throws
   * AttemptFailure on an unreadable event or an error event.
   */
  take(payload: string, readAll: boolean): Delta | undefined {
    if (payload === '[DONE]') {
      this.sawDone = true;
      return undefined;
    }
    if (!readAll && !this.options.parse && !mayCarryAccounting(payload)) {
      this.tokenChunks += 1;
      return { type: 'delta', raw: payload };
    }
    return this.account(payload, this.scan(payload) ?? this.read(payload));
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
    let identity: Chunk = {};
    try {
      const first: unknown = this.firstEvent === undefined ? undefined : JSON.parse(this.firstEvent);
      if (first !== null && typeof first === 'object') identity = first;
    } catch {
      // A first event that looked like an object and was not one: nothing to repeat.
    }
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

  /**
   * Reads an event of the usual shape (an object with no error and no tool calls, whose finish
   * reason is a plain string and whose usage is an object) without parsing it; undefined for
   * anything else, which `read` parses. Where a chunk has several choices, the finish reason is
   * the first one set. The scan does not check that the rest of the event is valid JSON: like the
   * events forwarded unread once tokens flow, it is the upstream's to send.
   */
  private scan(payload: string): Reading | undefined {
    if (payload.charCodeAt(0) !== openBrace || payload.charCodeAt(payload.length - 1) !== closeBrace) return undefined;
    if (payload.includes('"error"') || valueOf(payload, '"tool_calls"') !== -1) return undefined;
    let finish: FinishReason | undefined;
    const finishAt = valueOf(payload, '"finish_reason"');
    if (finishAt !== -1) {
      if (payload.charCodeAt(finishAt) !== quote) return undefined;
      const end = payload.indexOf('"', finishAt + 1);
      const value = payload.slice(finishAt + 1, end);
      if (end === -1 || value.includes('\\')) return undefined;
      finish = mapFinishReason(value);
    }
    let usage: unknown;
    let noChoices = false;
    const usageAt = valueOf(payload, '"usage"');
    if (usageAt !== -1) {
      const end = payload.charCodeAt(usageAt) === openBrace ? objectEnd(payload, usageAt) : -1;
      if (end === -1) return undefined;
      try {
        usage = JSON.parse(payload.slice(usageAt, end));
      } catch {
        return undefined;
      }
      const choicesAt = valueOf(payload, '"choices"');
      noChoices = choicesAt !== -1 && payload.charCodeAt(choicesAt) === openBracket && payload.charCodeAt(skipSpace(payload, choicesAt + 1)) === closeBracket;
    }
    const text = this.textOf(payload);
    if (text === null) return undefined;
    return { text, toolCalls: undefined, finish, usage, noChoices };
  }

  /** The event's generated text if it has some; null when a string in it never closes (then it is parsed, and refused). */
  private textOf(payload: string): string | null | undefined {
    if (this.options.kind === 'completion') {
      const text = stringOf(payload, '"text"');
      return text === null ? null : text || undefined;
    }
    const content = stringOf(payload, '"content"');
    if (content) return content;
    const reasoning = stringOf(payload, '"reasoning_content"');
    if (content === null || reasoning === null) return null;
    return reasoning || undefined;
  }

  /** Reads an event by parsing it. */
  private read(payload: string): Reading {
    const chunk = this.parse(payload);
    const choice = chunk.choices?.[0];
    const delta = choice?.delta;
    const text = this.options.kind === 'chat' ? (nonEmpty(delta?.content) ?? nonEmpty(delta?.reasoning_content)) : nonEmpty(choice?.text);
    const toolCalls = Array.isArray(delta?.tool_calls) && delta.tool_calls.length > 0 ? (delta.tool_calls as ToolCallDelta[]) : undefined;
    return { text, toolCalls, finish: mapFinishReason(choice?.finish_reason), usage: chunk.usage, noChoices: chunk.choices?.length === 0 };
  }

  private parse(payload: string): Chunk {
    let chunk: unknown;
    try {
      chunk = JSON.parse(payload);
    } catch {
      throw malformedAnswer(this.replica.provider, `an event that is not JSON: ${this.replica.provider.redact(payload.slice(0, 200))}`);
    }
    if (chunk === null || typeof chunk !== 'object' || Array.isArray(chunk)) throw malformedAnswer(this.replica.provider, 'an event that is not a JSON object');
    const error = (chunk as Chunk).error;
    if (error) {
      const message = typeof error === 'string' ? error : typeof error.message === 'string' ? error.message : JSON.stringify(error);
      const words = `The upstream '${this.replica.id}' reported an error: ${this.replica.provider.redact(message)}`;
      throw new AttemptFailure(new NimbusError('upstream_error', words), true, 'failure');
    }
    return chunk;
  }

  /** Takes in what an event says; the event to forward, or undefined for a usage chunk the client did not ask for. */
  private account(payload: string, reading: Reading): Delta | undefined {
    this.firstEvent ??= payload;
    const usage = readUsage(reading.usage);
    if (usage) {
      this.usage = usage;
      this.compute = readCompute(reading.usage);
    }
    if (reading.finish) this.finishReason = reading.finish;
    if (usage && reading.noChoices && !this.options.clientWantsUsage) return undefined;
    const event: Delta = this.options.parse ? { type: 'delta' } : { type: 'delta', raw: payload };
    if (reading.text) {
      event.content = reading.text;
      this.tokenChunks += 1;
    } else if (reading.toolCalls) {
      event.toolCalls = reading.toolCalls;
      this.tokenChunks += 1;
    } else if (this.options.parse) return undefined;
    return event;
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
