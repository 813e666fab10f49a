/** The OpenAI response bodies Nimbus returns, as TypeScript types (the wire contract, snake_case). */

/** Why generation ended, in OpenAI's words. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Token counts from the model's own tokenizer. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  /** Nimbus extension: true when an upstream gave no usage and the figures were counted here. */
  estimated?: boolean;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; refusal?: null; tool_calls?: ToolCall[] };
    logprobs: null;
    finish_reason: FinishReason;
  }>;
  usage: Usage;
}

/** A tool call fragment in a stream: the first fragment of a call carries id and name. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[] };
    logprobs: null;
    finish_reason: FinishReason | null;
  }>;
  usage?: Usage | null;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{ index: number; text: string; logprobs: null; finish_reason: FinishReason }>;
  usage: Usage;
}

export interface EmbeddingResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Nimbus extensions: where the model is served and what it can do. */
  nimbus?: {
    engine: string;
    served_by?: string[];
    context_length?: number;
    capabilities?: string[];
    alias_of?: string;
    app?: string;
    version?: number;
    models?: string[];
  };
}
