/**
 * The OpenAI request bodies Nimbus accepts, as zod schemas. They are the wire contract: engines
 * receive these parsed, checked values (snake_case, as on the wire) so an upstream engine can
 * forward them unchanged. Unknown top-level fields of a request are kept, unchecked, for an
 * upstream provider that takes them (its `forwardFields`: vLLM's `chat_template_kwargs` and
 * `repetition_penalty`, SGLang's `separate_reasoning`); Nimbus's own engine ignores them, as
 * vLLM and llama-server ignore fields they do not know. Unknown fields inside messages and tools
 * are dropped.
 */
import { z } from 'zod';

const textPart = z.discriminatedUnion('type', [z.object({ type: z.literal('text'), text: z.string() })]);
/** Content as a string or a list of text parts; image and audio parts are refused with a reason. */
const content = z.union([z.string(), z.array(textPart)]);

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const systemMessage = z.object({ role: z.enum(['system', 'developer']), content, name: z.string().optional() });
const userMessage = z.object({ role: z.literal('user'), content, name: z.string().optional() });
const assistantMessage = z.object({
  role: z.literal('assistant'),
  content: content.nullish(),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).optional(),
  refusal: z.string().nullish(),
});
const toolMessage = z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) });

/** One chat message; `role` picks its shape. */
export const chatMessageSchema = z.discriminatedUnion('role', [systemMessage, userMessage, assistantMessage, toolMessage]);

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes');

/** A tool the model may call: OpenAI's function tool. `parameters` is a JSON Schema object. */
export const toolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: functionName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) })]);

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      // Required here (OpenAI's API lets it out): json_schema without a schema is a mistake, not "any JSON".
      schema: z.record(z.string(), z.unknown()),
      strict: z.boolean().nullish(),
    }),
  }),
]);

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();
const positiveInt = z.number().int().min(1);

/** Sampling fields shared by chat and text completions. */
const sampling = {
  model: z.string().min(1),
  max_tokens: positiveInt.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop,
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  n: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().optional(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
};

/** POST /v1/chat/completions */
const chatCompletionShape = z.object({
  ...sampling,
  messages: z.array(chatMessageSchema).min(1, 'must contain at least one message'),
  max_completion_tokens: positiveInt.nullish(),
  response_format: responseFormat.nullish(),
  tools: z.array(toolSchema).max(128).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
});
export const chatCompletionRequestSchema = chatCompletionShape.loose();

/** POST /v1/completions */
const completionShape = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1, 'must contain at least one prompt')]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.number().int().nullish(),
  logprobs: z.number().int().nullish(),
});
export const completionRequestSchema = completionShape.loose();

/** POST /v1/embeddings */
const embeddingShape = z.object({
  model: z.string().min(1),
  input: z.union([z.string().min(1, 'must not be empty'), z.array(z.string().min(1, 'must not be empty')).min(1, 'must contain at least one input').max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: positiveInt.optional(),
  user: z.string().optional(),
});
export const embeddingRequestSchema = embeddingShape.loose();

export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ToolDefinition = z.infer<typeof toolSchema>;
export type ToolChoice = z.infer<typeof toolChoice>;
export type ResponseFormat = z.infer<typeof responseFormat>;
/** The fields each schema checks: any other field of a parsed request came from the client unchecked. */
export const chatCompletionFields: ReadonlySet<string> = new Set(Object.keys(chatCompletionShape.shape));
export const completionFields: ReadonlySet<string> = new Set(Object.keys(completionShape.shape));
export const embeddingFields: ReadonlySet<string> = new Set(Object.keys(embeddingShape.shape));

/** The fields Nimbus reads; a parsed request may hold others (see above), which only upstream engines pass on. */
export type ChatCompletionRequest = z.infer<typeof chatCompletionShape>;
export type CompletionRequest = z.infer<typeof completionShape>;
export type EmbeddingRequest = z.infer<typeof embeddingShape>;
