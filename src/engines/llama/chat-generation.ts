/**
 * One chat answer on a slot, under its output plan (tool-plan.ts). Text streams as it comes,
 * unless the plan's output must be checked after generation: then it is held until checked, and
 * output that breaks the client's schema is sampled again with another seed (and a temperature of
 * at least `resampleTemperature`, so that a greedy request can come out differently), up to
 * `maxOutputAttempts` in all, within the request's token budget. When none satisfies it, the
 * request is refused with `output_validation_failed`: output that breaks the schema is never
 * returned. A forced call or JSON cut off by max_tokens ends with finish_reason `length` (a
 * forced call with no call at all, never half of one).
 */
import type { ChatHistoryItem, ChatModelFunctions, LlamaChat, LlamaChatResponse, LlamaContextSequence, LlamaGrammar } from 'node-llama-cpp';
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import type { FinishReason, ToolCallDelta } from '../../core/openai/response-types.js';
import type { DeltaOutput } from './delta-output.js';
import { mapFinishReason, samplingOptions } from './generation-options.js';
import { checkJsonText } from './output-check.js';
import type { OutputPlan } from './tool-plan.js';

/** Tries at one answer, the first included. */
export const maxOutputAttempts = 4;
/** The least temperature of a second or later try. */
export const resampleTemperature = 0.7;

/** What one chat answer needs. */
export interface ChatGeneration {
  chat: LlamaChat;
  sequence: LlamaContextSequence;
  history: ChatHistoryItem[];
  request: ChatCompletionRequest;
  plan: OutputPlan;
  grammar: LlamaGrammar | undefined;
  signal: AbortSignal;
  output: DeltaOutput;
  /** Tokens it may generate, over all tries. */
  budget: number;
}

/** Whether a plan's output is held back until checked. */
export function holdsOutput(plan: OutputPlan): boolean {
  if (plan.kind === 'json') return plan.grammar !== 'any' && !plan.grammar.exact;
  return plan.kind === 'functions' && !plan.exact;
}

/** What one try gave: the events to hand out, or what was wrong with it. */
type Verdict = { ok: true; finishReason: FinishReason; text: string; toolCalls: ToolCallDelta[] } | { ok: false; problem: string };

function judge(plan: OutputPlan, result: LlamaChatResponse<ChatModelFunctions>, finishReason: FinishReason): Verdict {
  switch (plan.kind) {
    case 'forced-call': {
      const parsed = checkJsonText(result.response, () => undefined);
      if (parsed.problem !== undefined) return { ok: false, problem: parsed.problem };
      const call = parsed.value as { name: string; arguments: unknown };
      const problem = plan.checks.get(call.name)?.(call.arguments) ?? (plan.checks.has(call.name) ? undefined : `no tool named '${call.name}'`);
      if (problem !== undefined) return { ok: false, problem: `${call.name}: ${problem}` };
      const toolCall: ToolCallDelta = {
        index: 0,
        id: newId('call_'),
        type: 'function',
        function: { name: call.name, arguments: JSON.stringify(call.arguments) },
      };
      return { ok: true, finishReason: 'tool_calls', text: '', toolCalls: [toolCall] };
    }
    case 'json': {
      if (plan.check) {
        const parsed = checkJsonText(result.response, plan.check);
        if (parsed.problem !== undefined) return { ok: false, problem: parsed.problem };
      }
      return { ok: true, finishReason, text: result.response, toolCalls: [] };
    }
    case 'functions': {
      const toolCalls: ToolCallDelta[] = [];
      for (const [index, functionCall] of (result.functionCalls ?? []).entries()) {
        const params: unknown = functionCall.params ?? {};
        const problem = plan.checks.get(functionCall.functionName)?.(params);
        if (problem !== undefined) return { ok: false, problem: `${functionCall.functionName}: ${problem}` };
        toolCalls.push({ index, id: newId('call_'), type: 'function', function: { name: functionCall.functionName, arguments: JSON.stringify(params) } });
      }
      return { ok: true, finishReason: toolCalls.length > 0 ? 'tool_calls' : finishReason, text: result.response, toolCalls };
    }
    case 'text':
      return { ok: true, finishReason, text: result.response, toolCalls: [] };
  }
}

/** Generates the answer, handing its events to `output`; returns its finish reason. */
export async function generateChat(job: ChatGeneration): Promise<FinishReason> {
  const { plan, output, signal } = job;
  const held = holdsOutput(plan);
  const streamText = plan.kind !== 'forced-call' && !held;
  let used = 0;
  let problem = '';
  for (let attempt = 1; attempt <= maxOutputAttempts && used < job.budget; attempt += 1) {
    const sampling = samplingOptions(job.request);
    if (attempt > 1) {
      sampling.temperature = Math.max(sampling.temperature, resampleTemperature);
      sampling.seed = (job.request.seed ?? Math.floor(Math.random() * 2 ** 31)) + attempt;
    }
    const meter = job.sequence.tokenMeter.getState();
    // The options type is a union (grammar xor functions) that plan.kind already guarantees.
    const result = (await job.chat.generateResponse(job.history, {
      ...sampling,
      maxTokens: job.budget - used,
      signal,
      stopOnAbortSignal: true,
      ...(job.grammar ? { grammar: job.grammar } : {}),
      ...(plan.kind === 'functions' ? { functions: plan.functions, documentFunctionParams: true, maxParallelFunctionCalls: plan.maxParallel } : {}),
      onTextChunk: streamText ? output.text : undefined,
    } as Parameters<LlamaChat['generateResponse']>[1])) as LlamaChatResponse<ChatModelFunctions>;
    used += job.sequence.tokenMeter.diff(meter).usedOutputTokens;
    const finishReason = mapFinishReason(result.metadata.stopReason);
    // A try again that max_tokens cut off leaves no room for a good answer: refused below.
    if (finishReason === 'length' && attempt > 1) {
      problem = 'the last try was cut off by max_tokens';
      break;
    }
    // Cut off (max_tokens) or stopped (client gone): what came so far, never half a forced call.
    if (finishReason === 'length' || signal.aborted) {
      if (plan.kind !== 'forced-call' && held && result.response) output.text(result.response);
      return finishReason;
    }
    const verdict = judge(plan, result, finishReason);
    if (verdict.ok) {
      if (held || plan.kind === 'forced-call') output.text(verdict.text);
      if (verdict.toolCalls.length > 0) output.push({ type: 'delta', toolCalls: verdict.toolCalls });
      return verdict.finishReason;
    }
    problem = verdict.problem;
    // Streamed text cannot be taken back: only held output is sampled again.
    if (!held && plan.kind !== 'forced-call') break;
  }
  const param = plan.kind === 'json' || plan.kind === 'forced-call' ? plan.param : 'tools';
  throw new NimbusError(
    'output_validation_failed',
    `The model gave no output that satisfies the schema of '${param}' in ${maxOutputAttempts} tries within ${job.budget} tokens (last: ${problem}). Loosen the schema, raise max_tokens, or use a larger model.`,
    { param },
  );
}
