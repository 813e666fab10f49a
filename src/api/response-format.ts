/**
 * Shapes of OpenAI responses and stream chunks for chat and text completions. The generation
 * loop is the same for both; only these few functions differ.
 */
import type { FinishReason, ToolCall, ToolCallDelta, Usage } from '../core/openai/response-types.js';

/** Identity of one response: every chunk of a stream repeats it. */
export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

/** Builds the bodies of one kind of completion. */
export interface CompletionFormat {
  /** The chunk that opens a stream (chat sends the assistant role first). */
  opening(identity: ResponseIdentity, prefix: string): object | undefined;
  delta(identity: ResponseIdentity, content: string | undefined, toolCalls: ToolCallDelta[] | undefined): object;
  finish(identity: ResponseIdentity, finishReason: FinishReason): object;
  usage(identity: ResponseIdentity, usage: Usage): object;
  whole(identity: ResponseIdentity, text: string, toolCalls: ToolCall[], finishReason: FinishReason, usage: Usage): object;
}

export const chatFormat: CompletionFormat = {
  opening: (identity) => ({
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
  }),
  delta: (identity, content, toolCalls) => ({
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, delta: toolCalls ? { tool_calls: toolCalls } : { content }, logprobs: null, finish_reason: null }],
  }),
  finish: (identity, finishReason) => ({
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }],
  }),
  usage: (identity, usage) => ({ id: identity.id, object: 'chat.completion.chunk', created: identity.created, model: identity.model, choices: [], usage }),
  whole: (identity, text, toolCalls, finishReason, usage) => ({
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: toolCalls.length > 0 && text === '' ? null : text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
  }),
};

export const textFormat: CompletionFormat = {
  opening: (identity, prefix) => (prefix ? textChunk(identity, prefix, null) : undefined),
  delta: (identity, content) => textChunk(identity, content ?? '', null),
  finish: (identity, finishReason) => textChunk(identity, '', finishReason),
  usage: (identity, usage) => ({ id: identity.id, object: 'text_completion', created: identity.created, model: identity.model, choices: [], usage }),
  whole: (identity, text, _toolCalls, finishReason, usage) => ({
    id: identity.id,
    object: 'text_completion',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    usage,
  }),
};

function textChunk(identity: ResponseIdentity, text: string, finishReason: FinishReason | null): object {
  return {
    id: identity.id,
    object: 'text_completion',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
  };
}
