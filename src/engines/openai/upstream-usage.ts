/**
 * Token accounting for upstream answers: the upstream's own usage where it sent one, else an
 * estimate marked `estimated: true`, so the ledger never silently counts zero.
 */
import type { ComputeReport } from '../../core/engine.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { FinishReason, Usage } from '../../core/openai/response-types.js';

/** The upstream's usage object in our shape, or undefined when it sent none or nonsense. */
/** A pool worker's compute report in its usage (`nimbus_compute`), for the ledger; undefined elsewhere. */
export function readCompute(value: unknown): ComputeReport | undefined {
  const report = (value as { nimbus_compute?: { device_class?: unknown; seconds?: unknown } } | null | undefined)?.nimbus_compute;
  if (!report || typeof report.device_class !== 'string' || typeof report.seconds !== 'number' || !(report.seconds >= 0)) return undefined;
  return { deviceClass: report.device_class, seconds: report.seconds };
}

/** `{ compute }` when a pool worker reported it, else nothing (the field stays absent). */
export function optionalCompute(compute: ComputeReport | undefined): { compute?: ComputeReport } {
  return compute ? { compute } : {};
}

export function readUsage(value: unknown): Usage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const usage = value as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    total_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  };
  if (typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return undefined;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens + usage.completion_tokens,
    ...(typeof cached === 'number' ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}

/** About four characters per token: the usual rule of thumb for BPE tokenizers on English text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** An estimate of a request's prompt tokens: its text, plus a few tokens of framing per chat message. */
export function estimatePromptTokens(request: ChatCompletionRequest | (CompletionRequest & { prompt: string })): number {
  if (!('messages' in request)) return estimateTokens(request.prompt) + 1;
  let characters = 0;
  for (const message of request.messages) {
    const content = message.content;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) for (const part of content) characters += part.text.length;
    if (message.role === 'assistant') for (const call of message.tool_calls ?? []) characters += call.function.name.length + call.function.arguments.length;
  }
  if (request.tools) characters += JSON.stringify(request.tools).length;
  // OpenAI's own rule for chat framing: about 3 tokens per message, and 3 to prime the reply.
  return Math.ceil(characters / 4) + 3 * request.messages.length + 3;
}

/** A usage counted here, marked as estimated. */
export function estimatedUsage(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, estimated: true };
}

/** The upstream's finish reason in OpenAI's words (servers use their own: `eos`, `max_tokens`, ...). */
export function mapFinishReason(value: unknown): FinishReason | undefined {
  switch (value) {
    case 'stop':
    case 'eos':
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'tool_calls':
    case 'function_call':
    case 'tool_use':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    case null:
    case undefined:
      return undefined;
    default:
      return 'stop';
  }
}
