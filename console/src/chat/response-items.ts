/**
 * What an output item of a streamed `/v1/responses` turn shows while it runs, for the playground
 * and the Apps page alike: a `file_search_call` as a tool call with its queries (and, when done,
 * the passages it found), a client `function_call` with its arguments, a server-run MCP or other
 * tool call, and device actions (`nimbus_device_call`, or a `nimbus_device_approval_request` a
 * person must grant). Items the page does not show (messages) give no action.
 */
import type { DeviceAction } from '../api/types.js';
import type { ChatAction, PassageView } from './chat-state.js';

/** An output item as far as the page reads it (every kind's fields, all optional). */
export interface StreamedItem {
  id?: string;
  type?: string;
  status?: string;
  queries?: string[];
  results?: Array<{ file_id?: string; filename?: string; score?: number; text?: string }> | null;
  call_id?: string;
  name?: string;
  arguments?: string;
  server_label?: string;
  output?: string | null;
  error?: string | null;
  device?: string;
  action?: DeviceAction;
  approval_id?: string;
  message?: string;
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** The item's ending as a suffix of its arguments: running, its result, failed. An item done without a status (an MCP call) completed. */
function outcome(item: StreamedItem, done: boolean, result: string): string {
  if (item.status === 'failed' || item.error) return ` → failed${item.error ? `: ${item.error}` : ''}`;
  return item.status === 'completed' || (done && item.status === undefined) ? ` → ${result}` : ' …';
}

function passagesOf(item: StreamedItem): PassageView[] {
  return (item.results ?? [])
    .filter((hit) => typeof hit.text === 'string')
    .map((hit) => ({ fileId: hit.file_id ?? '', filename: hit.filename ?? hit.file_id ?? '', score: hit.score ?? 0, text: hit.text! }));
}

/** The actions of an item at `output_item.added` (`done` false) or `output_item.done` (`done` true). */
export function itemActions(item: StreamedItem | undefined, done: boolean): ChatAction[] {
  switch (item?.type) {
    case 'file_search_call': {
      const found = item.results ? plural(item.results.length, 'passage') : 'done';
      const call = {
        id: item.id ?? 'file_search',
        name: 'file_search',
        arguments: JSON.stringify({ queries: item.queries ?? [] }) + outcome(item, done, found),
      };
      const passages = done ? passagesOf(item) : [];
      return [{ type: 'toolCall', call }, ...(passages.length > 0 ? [{ type: 'passages' as const, passages }] : [])];
    }
    case 'function_call':
      // The client runs it: a turn with one ends there, waiting for its output.
      return [
        { type: 'toolCall', call: { id: item.call_id ?? item.id ?? item.name ?? '', name: item.name ?? '', arguments: done ? (item.arguments ?? '') : '…' } },
      ];
    case 'mcp_call':
    case 'nimbus_tool_call': {
      const name = item.server_label ? `${item.server_label}.${item.name ?? ''}` : (item.name ?? '');
      const result = item.output ? `${item.output.slice(0, 200)}${item.output.length > 200 ? '…' : ''}` : 'done';
      return [{ type: 'toolCall', call: { id: item.id ?? name, name, arguments: (item.arguments ?? '') + outcome(item, done, result) } }];
    }
    case 'nimbus_device_call':
      return done && item.action ? [{ type: 'deviceAction', action: item.action }] : [];
    case 'nimbus_device_approval_request':
      return done
        ? [
            {
              type: 'deviceAction',
              action: {
                device: item.device ?? '',
                kind: 'action',
                ...(item.name ? { name: item.name } : {}),
                status: 'approval_required',
                message: item.message ?? 'a person must approve this command',
                ...(item.approval_id ? { approval: item.approval_id } : {}),
              },
            },
          ]
        : [];
    default:
      return [];
  }
}
