/**
 * The body of `POST /v1/responses` Nimbus accepts, as zod schemas (OpenAI's Responses API, the
 * parts Nimbus serves). A field OpenAI has and Nimbus cannot honour is refused by the route with
 * a 400 naming it, never ignored; unknown fields are ignored, as OpenAI's newer fields would be.
 */
import { z } from 'zod';

const inputText = z.object({ type: z.literal('input_text'), text: z.string() });
const outputText = z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).optional() });
const refusal = z.object({ type: z.literal('refusal'), refusal: z.string() });
const contentPart = z.discriminatedUnion('type', [inputText, outputText, refusal]);

/** A message: EasyInputMessage (`type` left out, content a string) or an input or output message item. */
const message = z.object({
  type: z.literal('message'),
  id: z.string().min(1).optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(contentPart)]),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

const functionCall = z.object({
  type: z.literal('function_call'),
  id: z.string().min(1).optional(),
  call_id: z.string().min(1).max(128),
  name: z.string().min(1),
  arguments: z.string(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

const functionCallOutput = z.object({
  type: z.literal('function_call_output'),
  id: z.string().min(1).optional(),
  call_id: z.string().min(1).max(128),
  output: z.union([z.string(), z.array(z.union([inputText, outputText]))]),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

/** An earlier response's output item by its id (the AI SDK sends its assistant messages so when `store` is on). */
const itemReference = z.object({ type: z.literal('item_reference'), id: z.string().min(1).max(128) });

/** The client's answer to an `mcp_approval_request` of the conversation: the halted MCP call runs, or is reported denied. */
const mcpApprovalResponse = z.object({
  type: z.literal('mcp_approval_response'),
  id: z.string().min(1).nullish(),
  approval_request_id: z.string().min(1).max(128),
  approve: z.boolean(),
  reason: z.string().max(4096).nullish(),
});

/**
 * An MCP server's items of an earlier response, sent back by a client that keeps its own history
 * (no `previous_response_id`, as OpenAI allows): the listing and the approval request are context,
 * a call is shown to the model with its result, and an `mcp_approval_response` after a request
 * runs (or denies) that call.
 */
const mcpListTools = z.object({
  type: z.literal('mcp_list_tools'),
  id: z.string().min(1).max(128),
  server_label: z.string().min(1).max(64),
  tools: z.array(z.record(z.string(), z.unknown())).max(10_000),
  error: z.string().nullish(),
});

const mcpApprovalRequest = z.object({
  type: z.literal('mcp_approval_request'),
  id: z.string().min(1).max(128),
  server_label: z.string().min(1).max(64),
  name: z.string().min(1).max(256),
  arguments: z.string(),
});

const mcpCall = z.object({
  type: z.literal('mcp_call'),
  id: z.string().min(1).max(128),
  server_label: z.string().min(1).max(64),
  name: z.string().min(1).max(256),
  arguments: z.string(),
  output: z.string().nullish(),
  error: z.string().nullish(),
  approval_request_id: z.string().min(1).max(128).nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete', 'calling', 'failed']).optional(),
});

/** A message sent without `type` is a message (OpenAI's EasyInputMessage). */
const withType = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && !('type' in value) && 'role' in value ? { ...value, type: 'message' } : value;

export const inputItemSchema = z.preprocess(
  withType,
  z.discriminatedUnion('type', [message, functionCall, functionCallOutput, itemReference, mcpApprovalResponse, mcpListTools, mcpApprovalRequest, mcpCall]),
);

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes');

const functionTool = z.object({
  type: z.literal('function'),
  name: functionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const fileSearchTool = z.object({
  type: z.literal('file_search'),
  vector_store_ids: z.array(z.string().min(1)).min(1).max(16),
  max_num_results: z.number().int().min(1).max(50).optional(),
  ranking_options: z.record(z.string(), z.unknown()).optional(),
  filters: z.record(z.string(), z.unknown()).nullish(),
});

/** Nimbus devices as tools (a Nimbus extension; chat completions' `nimbus` options, src/api/responses/device-tool.ts). */
const nimbusDevicesTool = z.strictObject({
  type: z.literal('nimbus_devices'),
  devices: z.union([z.literal(true), z.array(z.string().min(1)).min(1).max(64)]),
  approvals: z.array(z.string().min(1).max(64)).max(16).optional(),
  conversation: z.string().min(1).max(128).optional(),
  untrusted: z.boolean().optional(),
});

/** A remote MCP server; its fields are checked by the mcp kind, which names the bad one (`tools[i].server_url`). */
const mcpTool = z.looseObject({ type: z.literal('mcp'), server_label: z.string() });

export const responseToolSchema = z.discriminatedUnion('type', [functionTool, fileSearchTool, nimbusDevicesTool, mcpTool]);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), name: z.string().min(1) }),
  z.object({ type: z.literal('file_search') }),
  z.object({ type: z.literal('mcp'), server_label: z.string().min(1), name: z.string().min(1).nullish() }),
]);

/** `text.format` of a response (and of an app's config). */
export const textFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, underscores or dashes'),
    description: z.string().optional(),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
  }),
]);

/** `metadata`: up to 16 string pairs, keys up to 64 characters, values up to 512 (OpenAI's limits). */
export const metadataSchema = z
  .record(z.string().max(64, 'keys must be at most 64 characters'), z.string().max(512, 'values must be at most 512 characters'))
  .refine((value) => Object.keys(value).length <= 16, 'at most 16 keys');

/** POST /v1/responses */
export const responseRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(inputItemSchema).min(1, 'must contain at least one item')]),
  instructions: z.string().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  text: z.object({ format: textFormatSchema.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  metadata: metadataSchema.nullish(),
  user: z.string().max(256).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(responseToolSchema).max(128).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_tool_calls: z.number().int().min(1).nullish(),
  include: z.array(z.string()).nullish(),
  background: z.boolean().nullish(),
});

export type ResponseRequest = z.infer<typeof responseRequestSchema>;
export type ResponseInputItem = z.infer<typeof inputItemSchema>;
export type ResponseTool = z.infer<typeof responseToolSchema>;
export type ResponseTextFormat = z.infer<typeof textFormatSchema>;
