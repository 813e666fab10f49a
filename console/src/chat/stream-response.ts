/**
 * A turn through a streamed Responses call (the playground's knowledge switch: `POST
 * /v1/responses` with a `file_search` tool over the chosen vector stores; the Apps page: `POST
 * /v1/apps/NAME/responses`). Its events become the conversation's actions: text deltas, output
 * items as they run (response-items.ts: searches with their passages, tool calls, device
 * actions), the citations OpenAI streams as `response.output_text.annotation.added`, and the usage
 * at `response.completed`. Stateless (`store: false`): the conversation is sent each turn, as chat.
 */
import { ApiError } from '../api/client.js';
import { postEventStream } from '../api/post-stream.js';
import type { ChatAction } from './chat-state.js';
import { itemActions, type StreamedItem } from './response-items.js';

export interface KnowledgeRequest {
  model: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  vectorStoreIds: string[];
  temperature: number;
  maxTokens: number;
  topP: number;
}

/** The body the playground sends: every turn searches first (tool_choice file_search), then the model answers. */
export function responsesBody(request: KnowledgeRequest): Record<string, unknown> {
  return {
    model: request.model,
    input: request.messages.map((message) => ({ role: message.role, content: message.content })),
    tools: [{ type: 'file_search', vector_store_ids: request.vectorStoreIds, max_num_results: 5 }],
    tool_choice: { type: 'file_search' },
    include: ['file_search_call.results'],
    temperature: request.temperature,
    top_p: request.topP,
    max_output_tokens: request.maxTokens,
    store: false,
    stream: true,
  };
}

interface ResponseEvent {
  type: string;
  delta?: string;
  item?: StreamedItem;
  annotation?: { type?: string; file_id?: string; filename?: string; index?: number };
  response?: {
    status?: string;
    usage?: { input_tokens?: number; output_tokens?: number };
    error?: { message?: string } | null;
    incomplete_details?: { reason?: string } | null;
  };
  message?: string;
}

/** What one event of the stream does to the conversation (none for events the playground does not show). */
export function actionsOf(event: ResponseEvent, at: number): ChatAction[] {
  switch (event.type) {
    case 'response.output_text.delta':
      return event.delta ? [{ type: 'chunk', chunk: { choices: [{ delta: { content: event.delta } }] }, at }] : [];
    case 'response.output_item.added':
    case 'response.output_item.done':
      return itemActions(event.item, event.type === 'response.output_item.done');
    case 'response.output_text.annotation.added':
      return event.annotation?.type === 'file_citation' && event.annotation.file_id
        ? [
            {
              type: 'citation',
              citation: {
                fileId: event.annotation.file_id,
                filename: event.annotation.filename ?? event.annotation.file_id,
                index: event.annotation.index ?? 0,
              },
            },
          ]
        : [];
    case 'response.completed':
    case 'response.incomplete': {
      const usage = event.response?.usage;
      const finish = event.type === 'response.incomplete' ? (event.response?.incomplete_details?.reason ?? 'incomplete') : 'stop';
      return [
        {
          type: 'chunk',
          chunk: {
            choices: [{ delta: {}, finish_reason: finish }],
            usage: { prompt_tokens: usage?.input_tokens ?? 0, completion_tokens: usage?.output_tokens ?? 0 },
          },
          at,
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * POSTs a streamed Responses body to `path` (`/v1/responses`, or an app's
 * `/v1/apps/NAME/responses`) and dispatches what each event does to the conversation.
 */
export function streamResponseTurn(
  path: string,
  body: Record<string, unknown>,
  dispatch: (action: ChatAction) => void,
  signal: AbortSignal,
  clock: () => number,
): Promise<void> {
  return postEventStream(path, body, signal, (data) => {
    const event = JSON.parse(data) as ResponseEvent;
    // A failure after the stream began arrives as an event, not as an HTTP status.
    if (event.type === 'error') throw new ApiError(`The answer stopped: ${event.message ?? 'the server reported an error'}`, 200, null);
    if (event.type === 'response.failed')
      throw new ApiError(`The answer stopped: ${event.response?.error?.message ?? 'the server reported an error'}`, 200, null);
    for (const action of actionsOf(event, clock())) dispatch(action);
  });
}

/** The playground's knowledge turn: a forced search of the chosen stores, then the answer. */
export function streamKnowledgeTurn(
  request: KnowledgeRequest,
  dispatch: (action: ChatAction) => void,
  signal: AbortSignal,
  clock: () => number,
): Promise<void> {
  return streamResponseTurn('/v1/responses', responsesBody(request), dispatch, signal, clock);
}
