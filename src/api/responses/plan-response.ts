/**
 * Turns a `POST /v1/responses` body into a ResponsePlan: checks what zod's shapes cannot say,
 * loads the conversation behind `previous_response_id`, and maps the Responses API onto the chat
 * request every engine takes (instructions as the system message, `text.format` as
 * `response_format`, tools as the executors of the one tool loop).
 */
import type { FastifyRequest } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import { newTimeOrderedId } from '../../core/ids.js';
import type { ModelRoute } from '../../core/model-route.js';
import type { ResponseRequest, ResponseTextFormat } from '../../core/openai/response-request-schema.js';
import type { ChatCompletionRequest, ChatMessage } from '../../core/openai/request-schemas.js';
import { inputItemsOf, itemsToMessages, responseOfItem, type Item } from '../../responses/response-items.js';
import type { ResponseRecords } from '../../responses/response-records.js';
import type { ToolCall } from '../../core/openai/response-types.js';
import type { ResponseBuilder } from '../../responses/response-builder.js';
import { mcpFunctionName } from '../../tools/mcp/mcp-executor.js';
import type { ToolExecutor } from '../../tools/tool-loop.js';
import { redactTools } from './mcp-tool.js';
import type { ResponsePlan } from './serve-response.js';
import { serverToolItems, type ItemMaker } from './server-tool-items.js';

/** What the plan needs beyond the body. */
export interface PlanContext<Request extends Pick<FastifyRequest, 'principal'> = FastifyRequest> {
  records: ResponseRecords;
  route: ModelRoute;
  contextLength: number | undefined;
  /** Model turns a response may take calling server-side tools. */
  maxToolTurns: number;
  /** The executors of the request's tools (function tools, file search, ...) and their output items. */
  tools(body: ResponseRequest, request: Request, conversation: readonly Item[]): Promise<RequestTools>;
}

/** A request's tools, ready to run. */
export interface RequestTools {
  executors: ToolExecutor[];
  items: Record<string, ItemMaker>;
  citations: (text: string) => Array<Record<string, unknown>>;
  acted: () => boolean;
  /** Before the first turn (MCP servers listed), with the items it adds. */
  setUp: (builder: ResponseBuilder, signal: AbortSignal) => Promise<void>;
  /** After the response (MCP sessions ended). */
  close: () => Promise<void>;
  /** Calls of an earlier response the client answered now (approved or denied MCP calls). */
  resume: ReadonlyArray<{ call: ToolCall; executor: ToolExecutor }>;
}

/** The `include` values Nimbus answers. */
const includable = new Set(['file_search_call.results']);

export async function planResponse<Request extends Pick<FastifyRequest, 'principal'> = FastifyRequest>(
  body: ResponseRequest,
  request: Request,
  context: PlanContext<Request>,
): Promise<ResponsePlan> {
  if (body.background)
    throw new NimbusError(
      'unsupported_value',
      "background responses are not supported yet: send the request without 'background' (stream it to see it progress).",
      { param: 'background' },
    );
  for (const [index, value] of (body.include ?? []).entries()) {
    if (!includable.has(value))
      throw new NimbusError('unsupported_value', `include value '${value}' is not supported; supported: ${[...includable].join(', ')}.`, {
        param: `include[${index}]`,
      });
  }
  const contextLength = context.contextLength;
  if (body.max_output_tokens != null && contextLength !== undefined && body.max_output_tokens > contextLength) {
    throw new NimbusError(
      'invalid_value',
      `Invalid value for 'max_output_tokens': ${body.max_output_tokens} is more than this model's context of ${contextLength} tokens (input and output together). Ask for at most ${contextLength}.`,
      { param: 'max_output_tokens' },
    );
  }
  const tenantId = request.principal.tenantId;
  const previous = body.previous_response_id ?? null;
  if (previous !== null && context.records.isRunning(tenantId, previous)) {
    throw new NimbusError('invalid_value', `Previous response '${previous}' is still in progress: wait for it to finish, or cancel it.`, {
      param: 'previous_response_id',
    });
  }
  const history = previous !== null ? await context.records.conversation(tenantId, previous) : [];
  const inputItems = await resolveReferences(inputItemsOf(body.input), tenantId, context.records);
  checkCallOutputs(history, inputItems);
  const messages: ChatMessage[] = itemsToMessages([...history, ...inputItems]);
  // Instructions apply to this response only: they are not stored as items, so a continuation does not carry them.
  if (body.instructions) messages.unshift({ role: 'system', content: body.instructions });
  const { executors, items, citations, acted, setUp, close, resume } = await context.tools(body, request, [...history, ...inputItems]);
  const chat: ChatCompletionRequest = { model: body.model, messages };
  if (body.temperature != null) chat.temperature = body.temperature;
  if (body.top_p != null) chat.top_p = body.top_p;
  if (body.user != null) chat.user = body.user;
  if (body.parallel_tool_calls != null) chat.parallel_tool_calls = body.parallel_tool_calls;
  const format = body.text?.format;
  const responseFormat = chatResponseFormat(format);
  if (responseFormat) chat.response_format = responseFormat;
  const choice = body.tool_choice;
  if (choice != null)
    chat.tool_choice =
      typeof choice === 'string'
        ? choice
        : choice.type === 'function'
          ? { type: 'function', function: { name: choice.name } }
          : choice.type === 'mcp'
            ? choice.name
              ? { type: 'function', function: { name: mcpFunctionName(choice.server_label, choice.name) } }
              : 'required'
            : { type: 'function', function: { name: 'file_search' } };
  const store = body.store ?? true;
  return {
    response: {
      id: newTimeOrderedId('resp_'),
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status: 'in_progress',
      background: false,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      max_tool_calls: body.max_tool_calls ?? null,
      model: body.model,
      output: [],
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: previous,
      reasoning: { effort: null, summary: null },
      service_tier: 'default',
      store,
      temperature: body.temperature ?? 1,
      text: { format: format ?? { type: 'text' }, verbosity: body.text?.verbosity ?? 'medium' },
      tool_choice: body.tool_choice ?? 'auto',
      // An MCP tool's headers go to its server only: never echoed, never stored.
      tools: redactTools(body.tools ?? []),
      top_p: body.top_p ?? 1,
      truncation: body.truncation ?? 'disabled',
      usage: null,
      user: body.user ?? null,
      metadata: body.metadata ?? {},
    },
    route: context.route,
    chat,
    executors,
    serverItems: serverToolItems(items),
    citations,
    acted,
    setUp,
    close,
    resume,
    maxSteps: Math.min(context.maxToolTurns, body.max_tool_calls ?? context.maxToolTurns),
    maxOutputTokens: body.max_output_tokens ?? undefined,
    contextLength,
    truncation: body.truncation ?? 'disabled',
    stream: Boolean(body.stream),
    store,
    previousResponseId: previous,
    inputItems,
  };
}

/** `text.format` of the Responses API as chat's `response_format` (undefined for plain text). */
export function chatResponseFormat(format: ResponseTextFormat | undefined): ChatCompletionRequest['response_format'] {
  if (format?.type === 'json_object') return { type: 'json_object' };
  if (format?.type !== 'json_schema') return undefined;
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name,
      schema: format.schema,
      ...(format.description !== undefined ? { description: format.description } : {}),
      strict: format.strict ?? null,
    },
  };
}

/** Each `item_reference` replaced by the stored output item it names (one read per response referred to); a missing one is a 400. */
async function resolveReferences(items: Item[], tenantId: string, records: ResponseRecords): Promise<Item[]> {
  const responses = new Map<string, Promise<Record<string, unknown> | undefined>>();
  return Promise.all(
    items.map(async (item, index) => {
      if (item.type !== 'item_reference') return item;
      const responseId = responseOfItem(item.id);
      if (responseId !== undefined && !responses.has(responseId)) responses.set(responseId, records.get(tenantId, responseId));
      const stored = responseId !== undefined ? await responses.get(responseId) : undefined;
      const found = (stored?.output as Item[] | undefined)?.find((output) => output.id === item.id);
      if (!found)
        throw new NimbusError('invalid_value', `Item with id '${item.id}' not found: it must be an output item of a stored response of yours.`, {
          param: `input[${index}]`,
        });
      return { ...found };
    }),
  );
}

/** A function_call_output must answer a function call of the conversation (OpenAI refuses it otherwise). */
function checkCallOutputs(history: readonly Item[], input: readonly Item[]): void {
  const calls = new Set([...history, ...input].filter((item) => item.type === 'function_call').map((item) => String(item.call_id)));
  input.forEach((item, index) => {
    if (item.type === 'function_call_output' && !calls.has(String(item.call_id))) {
      throw new NimbusError(
        'invalid_value',
        `No tool call found for function call output with call_id '${String(item.call_id)}'. Send it with the previous_response_id of the response that made the call, or with the function_call item before it.`,
        { param: `input[${index}]` },
      );
    }
  });
}
