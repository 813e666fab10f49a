/**
 * Items of the Responses API and their chat form. A request's input (a string or items) becomes
 * items with ids, as `input_items` lists them; a conversation's items (earlier inputs and outputs,
 * then this input) become the chat messages every engine takes, so a response runs on any model
 * Nimbus serves through the same route chat completions use.
 */
import { newId } from '../core/ids.js';
import type { ResponseInputItem } from '../core/openai/response-request-schema.js';
import type { ChatMessage } from '../core/openai/request-schemas.js';
import { mcpFunctionName } from '../tools/mcp/mcp-executor.js';

/** An item as the API returns it: `type`, `id` and the type's fields. */
export type Item = Record<string, unknown> & { type: string; id: string };

/** The request's input as items with ids (a string is one user message). */
export function inputItemsOf(input: string | ResponseInputItem[]): Item[] {
  if (typeof input === 'string')
    return [{ id: newId('msg_'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  return input.map((item): Item => {
    if (item.type === 'message') {
      const parts = typeof item.content === 'string' ? [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }] : item.content;
      return { id: item.id ?? newId('msg_'), type: 'message', role: item.role, status: item.status ?? 'completed', content: parts };
    }
    // Resolved against the stored response by the caller (responseOfItem names it).
    if (item.type === 'item_reference') return { id: item.id, type: 'item_reference' };
    if (item.type === 'function_call') {
      return {
        id: item.id ?? newId('fc_'),
        type: 'function_call',
        call_id: item.call_id,
        name: item.name,
        arguments: item.arguments,
        status: item.status ?? 'completed',
      };
    }
    if (item.type === 'mcp_approval_response') {
      return {
        id: item.id ?? newId('mcpa_'),
        type: 'mcp_approval_response',
        approval_request_id: item.approval_request_id,
        approve: item.approve,
        reason: item.reason ?? null,
      };
    }
    if (item.type === 'mcp_list_tools') return { id: item.id, type: item.type, server_label: item.server_label, tools: item.tools, error: item.error ?? null };
    if (item.type === 'mcp_approval_request')
      return { id: item.id, type: item.type, server_label: item.server_label, name: item.name, arguments: item.arguments };
    if (item.type === 'mcp_call') {
      const error = item.error ?? null;
      const output = item.output ?? null;
      const callId = item.approval_request_id ?? item.id;
      return {
        id: item.id,
        type: 'mcp_call',
        status: item.status ?? (error !== null ? 'failed' : 'completed'),
        server_label: item.server_label,
        name: item.name,
        arguments: item.arguments,
        output,
        error,
        approval_request_id: item.approval_request_id ?? null,
        // What the model saw, as a stored call carries it (built here, never taken from the client).
        nimbus_call: {
          id: callId,
          name: mcpFunctionName(item.server_label, item.name),
          arguments: item.arguments,
          output: error !== null ? JSON.stringify({ error }) : (output ?? ''),
        },
      };
    }
    const output = typeof item.output === 'string' ? item.output : item.output.map((part) => part.text).join('');
    return { id: item.id ?? newId('fco_'), type: 'function_call_output', call_id: item.call_id, output, status: item.status ?? 'completed' };
  });
}

/** The id of a response's `index`th output message: it names the response, so an `item_reference` to it is one read. */
export function messageItemId(responseId: string, index: number): string {
  return `msg_${responseId.replace(/^resp_/, '')}_${index}`;
}

/** The response whose output holds the message with this id, if the id was made by `messageItemId`. */
export function responseOfItem(itemId: string): string | undefined {
  const match = /^msg_([A-Za-z0-9]+)_\d+$/.exec(itemId);
  return match ? `resp_${match[1]}` : undefined;
}

/** The text of a message item's content parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { text?: unknown; refusal?: unknown }) => (typeof part.text === 'string' ? part.text : typeof part.refusal === 'string' ? part.refusal : ''))
    .join('');
}

/**
 * Items as chat messages: messages keep their role; function calls (the model's, and server-side
 * tool calls, which carry theirs in `nimbus_call`) join the assistant message before them as
 * tool calls; their outputs become tool messages. MCP tool listings, approval requests and
 * answers are not the model's: a call run after its approval is in its `mcp_call` item.
 */
export function itemsToMessages(items: readonly Item[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const toolCall = (id: string, name: string, args: string): void => {
    const last = messages.at(-1);
    const call = { id, type: 'function' as const, function: { name, arguments: args } };
    if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
    else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  };
  for (const item of items) {
    if (item.type === 'message') {
      const role = item.role as 'user' | 'assistant' | 'system' | 'developer';
      const text = textOf(item.content);
      // An assistant message after tool results starts a new assistant message, as chat wants.
      messages.push(role === 'assistant' ? { role, content: text } : { role, content: text });
    } else if (item.type === 'function_call') {
      toolCall(String(item.call_id), String(item.name), String(item.arguments));
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: String(item.call_id), content: String(item.output) });
    } else {
      const server = item.nimbus_call as { id: string; name: string; arguments: string; output: string } | undefined;
      if (!server) continue;
      toolCall(server.id, server.name, server.arguments);
      messages.push({ role: 'tool', tool_call_id: server.id, content: server.output });
    }
  }
  return messages;
}
