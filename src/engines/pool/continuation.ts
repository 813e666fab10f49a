/**
 * Continuing a stream on another replica when the one serving it is lost mid-answer: the request
 * again, with the text the client already has appended (a chat's last message becomes the
 * assistant's partial answer, which Nimbus's llama engine continues; a text completion's prompt
 * grows by it), asking only for the tokens still allowed. Only plain text continues: tool calls
 * and JSON held to a grammar cannot be picked up half-way, and `n`, logprobs, echo and suffix
 * would come out different.
 */
import type { GenerationEvent } from '../../core/engine.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { Usage } from '../../core/openai/response-types.js';

type TextRequest = CompletionRequest & { prompt: string };

/** What reached the client before the cut. */
export interface StreamedSoFar {
  text: string;
  /** Events that carried text: the tokens the cut try generated, near enough. */
  chunks: number;
  /** Tool calls went out: nothing continues them. */
  toolCalls: boolean;
}

/** The output budget the client set, where it set one. */
function maxTokensOf(request: ChatCompletionRequest | TextRequest): number | undefined {
  if ('messages' in request) return request.max_completion_tokens ?? request.max_tokens ?? undefined;
  // A text completion's default budget is 16 tokens (OpenAI's and Nimbus's).
  return request.max_tokens ?? 16;
}

/** Whether a stream of `request` cut after `sofar` may go on elsewhere. */
export function mayContinue(request: ChatCompletionRequest | TextRequest, sofar: StreamedSoFar): boolean {
  if (sofar.toolCalls || sofar.text === '' || (request.n ?? 1) !== 1) return false;
  if ('messages' in request) {
    const tools = (request.tools?.length ?? 0) > 0 && request.tool_choice !== 'none';
    const grammar = request.response_format !== null && request.response_format !== undefined && request.response_format.type !== 'text';
    return !tools && !grammar && !request.logprobs;
  }
  return !request.echo && !request.suffix && !request.logprobs;
}

/** The request that continues `request` after `sofar`; undefined when the budget is spent (the answer ended at its length). */
export function continuationOf<Request extends ChatCompletionRequest | TextRequest>(request: Request, sofar: StreamedSoFar): Request | undefined {
  const max = maxTokensOf(request);
  const left = max === undefined ? undefined : max - sofar.chunks;
  if (left !== undefined && left <= 0) return undefined;
  if ('messages' in request) {
    const messages = [...request.messages, { role: 'assistant' as const, content: sofar.text }];
    const budget = left === undefined ? {} : request.max_completion_tokens != null ? { max_completion_tokens: left } : { max_tokens: left };
    return { ...request, messages, ...budget };
  }
  return { ...request, prompt: request.prompt + sofar.text, max_tokens: left };
}

/**
 * The continuation's `done` as the whole answer's: its prompt counted the text already streamed,
 * which is output; the tokens are estimated (the cut try never reported its usage).
 */
export function joinedDone(done: Extract<GenerationEvent, { type: 'done' }>, sofar: StreamedSoFar): Extract<GenerationEvent, { type: 'done' }> {
  const promptTokens = Math.max(0, done.usage.prompt_tokens - sofar.chunks);
  const completionTokens = done.usage.completion_tokens + sofar.chunks;
  const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, estimated: true };
  return { ...done, usage };
}

/** The end of an answer whose budget ran out exactly at the cut: what was streamed, at its length. */
export function spentDone(sofar: StreamedSoFar, promptTokens: number): Extract<GenerationEvent, { type: 'done' }> {
  return {
    type: 'done',
    finishReason: 'length',
    usage: { prompt_tokens: promptTokens, completion_tokens: sofar.chunks, total_tokens: promptTokens + sofar.chunks, estimated: true },
  };
}
