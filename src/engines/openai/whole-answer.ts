/**
 * A non-streamed upstream answer as generation events: the body goes to the client verbatim
 * (parsed once for usage and the finish reason, never re-serialized), except when the upstream
 * gave no usage: then the estimate is added, marked `estimated: true`.
 */
import type { GenerationEvent } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ToolCallDelta } from '../../core/openai/response-types.js';
import type { Replica } from './replica.js';
import { AttemptFailure, malformedAnswer } from './upstream-failure.js';
import { estimatedUsage, estimateTokens, mapFinishReason, optionalCompute, readCompute, readUsage } from './upstream-usage.js';

interface Answer {
  choices?: Array<{
    message?: { content?: unknown; tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> };
    text?: unknown;
    finish_reason?: unknown;
  }>;
  usage?: unknown;
  error?: { message?: unknown } | string;
}

/** Parses a whole answer; throws AttemptFailure when it is not one. */
export function wholeAnswer(replica: Replica, kind: 'chat' | 'completion', body: string, estimatePromptTokens: () => number): GenerationEvent[] {
  let answer: Answer;
  try {
    answer = JSON.parse(body) as Answer;
  } catch {
    throw malformedAnswer(replica.provider, `a body that is not JSON: ${replica.provider.redact(body.slice(0, 200))}`);
  }
  if (answer === null || typeof answer !== 'object') throw malformedAnswer(replica.provider, 'a body that is not a JSON object');
  if (answer.error) {
    const message =
      typeof answer.error === 'string' ? answer.error : typeof answer.error.message === 'string' ? answer.error.message : JSON.stringify(answer.error);
    throw new AttemptFailure(
      new NimbusError('upstream_error', `The upstream '${replica.id}' reported an error: ${replica.provider.redact(message)}`),
      true,
      'failure',
    );
  }
  const choice = answer.choices?.[0];
  const text = kind === 'chat' ? choice?.message?.content : choice?.text;
  const calls = choice?.message?.tool_calls;
  const content = typeof text === 'string' ? text : undefined;
  let usage = readUsage(answer.usage);
  let raw = body;
  if (!usage) {
    const generated = (content ?? '') + (calls ?? []).map((call) => (call.function?.name ?? '') + (call.function?.arguments ?? '')).join('');
    usage = estimatedUsage(estimatePromptTokens(), estimateTokens(generated));
    raw = JSON.stringify({ ...answer, usage });
  }
  const toolCalls: ToolCallDelta[] | undefined = calls?.map((call, index) => ({
    index,
    ...(call.id ? { id: call.id } : {}),
    type: 'function',
    function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
  }));
  return [
    { type: 'delta', raw, ...(content ? { content } : {}), ...(toolCalls?.length ? { toolCalls } : {}) },
    {
      type: 'done',
      finishReason: mapFinishReason(choice?.finish_reason) ?? 'stop',
      usage,
      servedBy: replica.id,
      ...optionalCompute(readCompute(answer.usage)),
    },
  ];
}
