/** node-llama-cpp's generation options and results in OpenAI's words, and back. */
import type { LLamaContextualRepeatPenalty } from 'node-llama-cpp';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { FinishReason } from '../../core/openai/response-types.js';

export type StopReason = 'eogToken' | 'stopGenerationTrigger' | 'functionCalls' | 'maxTokens' | 'abort' | 'customStopTrigger';

/** node-llama-cpp's stop reasons in OpenAI's words. */
export function mapFinishReason(reason: StopReason): FinishReason {
  switch (reason) {
    case 'maxTokens':
      return 'length';
    case 'functionCalls':
      return 'tool_calls';
    case 'eogToken':
    case 'stopGenerationTrigger':
    case 'customStopTrigger':
    case 'abort':
      return 'stop';
    default:
      return 'stop';
  }
}

/** Sampling options shared by chat and text completion, mapped from the OpenAI request. */
export function samplingOptions(request: ChatCompletionRequest | CompletionRequest) {
  const presence = request.presence_penalty ?? 0;
  const frequency = request.frequency_penalty ?? 0;
  const repeatPenalty: LLamaContextualRepeatPenalty | false =
    presence !== 0 || frequency !== 0 ? { lastTokens: 64, penalty: 1, presencePenalty: presence, frequencyPenalty: frequency } : false;
  const stop = request.stop ?? [];
  return {
    temperature: request.temperature ?? 1,
    topP: request.top_p ?? 1,
    ...(request.top_k != null ? { topK: request.top_k } : {}),
    ...(request.min_p != null ? { minP: request.min_p } : {}),
    ...(request.seed != null ? { seed: request.seed } : {}),
    repeatPenalty,
    customStopTriggers: (typeof stop === 'string' ? [stop] : stop).filter((text) => text !== ''),
  };
}
