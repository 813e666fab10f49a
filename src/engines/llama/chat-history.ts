/**
 * OpenAI chat messages -> node-llama-cpp chat history. The model's own chat wrapper (from its
 * template) then renders the history, so Qwen, Llama 3, Mistral and Phi format correctly.
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from 'node-llama-cpp';
import { NimbusError } from '../../core/errors.js';
import type { ChatMessage } from '../../core/openai/request-schemas.js';

type Content = ChatMessage['content'];

/** Text of a message's content: a string, or its text parts joined. */
export function contentText(content: Content | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}

/**
 * Builds the history, ending with the model's turn to speak: an empty model response after a
 * user or system message, or the open model response that a tool result or a prefilled
 * assistant message continues.
 */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  /** Tool calls still waiting for their result, by id. */
  const pending = new Map<string, ChatModelFunctionCall>();
  let open: ChatModelResponse | undefined;

  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    if (message.role !== 'tool' && pending.size > 0 && !(message.role === 'assistant' && open)) {
      throw new NimbusError(
        'invalid_request',
        `An assistant message with 'tool_calls' must be followed by a tool message for each call; missing results for: ${[...pending.keys()].join(', ')}.`,
        { param },
      );
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        open = undefined;
        history.push({ type: 'system', text: contentText(message.content) });
        break;
      case 'user':
        open = undefined;
        history.push({ type: 'user', text: contentText(message.content) });
        break;
      case 'assistant': {
        if (pending.size > 0) {
          throw new NimbusError('invalid_request', `Missing tool results for: ${[...pending.keys()].join(', ')}.`, { param });
        }
        if (!open) {
          open = { type: 'model', response: [] };
          history.push(open);
        }
        const text = contentText(message.content);
        if (text) open.response.push(text);
        (message.tool_calls ?? []).forEach((call, callIndex) => {
          let params: unknown;
          try {
            params = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments);
          } catch {
            throw new NimbusError('invalid_value', `Invalid value for '${param}.tool_calls[${callIndex}].function.arguments': it must be a JSON string.`, {
              param: `${param}.tool_calls[${callIndex}].function.arguments`,
            });
          }
          const item: ChatModelFunctionCall = { type: 'functionCall', name: call.function.name, params, result: undefined };
          open!.response.push(item);
          pending.set(call.id, item);
        });
        break;
      }
      case 'tool': {
        const call = pending.get(message.tool_call_id);
        if (!call) {
          throw new NimbusError(
            'invalid_value',
            `Invalid value for '${param}.tool_call_id': no earlier assistant tool call has the id '${message.tool_call_id}'.`,
            {
              param: `${param}.tool_call_id`,
            },
          );
        }
        const text = contentText(message.content);
        call.result = parseMaybeJson(text);
        pending.delete(message.tool_call_id);
        break;
      }
    }
  });
  if (pending.size > 0) {
    throw new NimbusError('invalid_request', `Missing tool results for: ${[...pending.keys()].join(', ')}.`, { param: 'messages' });
  }
  const last = messages[messages.length - 1]!;
  if (last.role !== 'assistant' && last.role !== 'tool') history.push({ type: 'model', response: [] });
  return history;
}

/** Tool results are usually JSON; give the template structured data where they are. */
function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
