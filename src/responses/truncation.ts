/**
 * `truncation` of a response: `disabled` (OpenAI's default) refuses a conversation past the
 * model's context with a 400 naming `input`; `auto` drops the oldest turns (a turn: a user message
 * and what followed it) until it fits, never the instructions and never the newest turn. The
 * engine is the judge of what fits (it counts with the model's own tokenizer): an overflow it
 * reports before generating is answered by cutting and asking again.
 */
import type { EngineCall, GenerationEvent } from '../core/engine.js';
import { NimbusError, toNimbusError } from '../core/errors.js';
import type { ChatCompletionRequest, ChatMessage } from '../core/openai/request-schemas.js';

/** What the cut kept across a response's turns: each later turn starts from the same cut. */
export interface TruncationState {
  /** Turns dropped from the front of the conversation. */
  dropped: number;
}

/** After an overflow, the prompt is cut to this share of the context, leaving the rest for the answer. */
const targetShare = 0.75;
/** Tries at most, each after a cut. */
const maxTries = 16;

/** A chat call that applies the response's truncation to each turn's prompt. */
export function truncatingChat(
  mode: 'auto' | 'disabled',
  state: TruncationState,
  chat: (request: ChatCompletionRequest, call: EngineCall) => AsyncIterable<GenerationEvent>,
): (request: ChatCompletionRequest, call: EngineCall) => AsyncIterable<GenerationEvent> {
  return async function* (request, call) {
    for (let tries = 0; ; tries += 1) {
      const messages = dropTurns(request.messages, state.dropped);
      const iterator = chat({ ...request, messages }, call)[Symbol.asyncIterator]();
      let first: IteratorResult<GenerationEvent>;
      try {
        first = await iterator.next();
      } catch (error) {
        const failure = toNimbusError(error);
        if (failure.code !== 'context_length_exceeded') throw error;
        const turns = turnStarts(request.messages).length;
        if (mode === 'disabled' || state.dropped >= turns - 1 || tries >= maxTries) throw overflow(failure, mode);
        state.dropped = Math.min(turns - 1, state.dropped + turnsToDrop(messages, failure.facts));
        continue;
      }
      if (!first.done) yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      return;
    }
  };
}

/** Where each turn starts: the index of every user message. */
function turnStarts(messages: readonly ChatMessage[]): number[] {
  const starts: number[] = [];
  messages.forEach((message, index) => message.role === 'user' && starts.push(index));
  return starts;
}

/** The messages without the first `count` turns (system and developer messages before the first turn stay). */
export function dropTurns(messages: ChatMessage[], count: number): ChatMessage[] {
  if (count === 0) return messages;
  const starts = turnStarts(messages);
  const from = starts[Math.min(count, starts.length - 1)];
  if (from === undefined || starts[0] === undefined) return messages;
  const keptFront = messages.slice(0, starts[0]).filter((message) => message.role === 'system' || message.role === 'developer');
  return [...keptFront, ...messages.slice(from)];
}

/** How many more turns to drop: from the engine's counts, enough characters for the target share; one where it gave none. */
function turnsToDrop(messages: ChatMessage[], facts: Record<string, unknown>): number {
  const promptTokens = Number(facts.promptTokens);
  const contextLength = Number(facts.contextLength);
  if (!(promptTokens > 0 && contextLength > 0)) return 1;
  const size = (message: ChatMessage): number => JSON.stringify(message).length;
  const total = messages.reduce((sum, message) => sum + size(message), 0);
  const excess = total - (total * contextLength * targetShare) / promptTokens;
  const starts = turnStarts(messages);
  let drop = 0;
  let cut = 0;
  for (let turn = 0; turn < starts.length - 1 && cut < excess; turn += 1) {
    for (let index = starts[turn]!; index < starts[turn + 1]!; index += 1) cut += size(messages[index]!);
    drop += 1;
  }
  return Math.max(1, drop);
}

function overflow(failure: NimbusError, mode: 'auto' | 'disabled'): NimbusError {
  const advice =
    mode === 'disabled'
      ? "Send truncation: 'auto' to drop the oldest turns, or shorten the input."
      : 'Even the newest turn alone does not fit: shorten the input or the instructions.';
  return new NimbusError('context_length_exceeded', `${failure.message} ${advice}`, { param: 'input', cause: failure });
}
