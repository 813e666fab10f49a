/**
 * How a call to a server-side tool appears in a response's output: an item per call, in the
 * tool kind's shape (a `file_search_call`, a device action), with the events its kind streams
 * before `output_item.done`. Each item also carries `nimbus_call`, the call and the result as
 * the model saw them, so a conversation continued with `previous_response_id` shows the model
 * the same thing again.
 */
import { newId } from '../../core/ids.js';
import type { ResponseBuilder } from '../../responses/response-builder.js';
import type { Item } from '../../responses/response-items.js';
import type { LoopEvent } from '../../tools/tool-loop.js';

type ToolResult = Extract<LoopEvent, { type: 'tool_result' }>;

/** The item of one kind's call, and the events sent between `output_item.added` and `output_item.done`; null for none (a call the client denied). */
export type ItemMaker = (result: ToolResult) => { item: Item; during?: Array<[type: string, fields: Record<string, unknown>]> } | null;

/** Turns tool results into output items, by kind. */
export interface ServerToolItems {
  add(builder: ResponseBuilder, result: ToolResult): void;
}

/** The call as the model saw it. */
export function chatForm(result: ToolResult): { id: string; name: string; arguments: string; output: string } {
  return { id: result.call.id, name: result.call.function.name, arguments: result.call.function.arguments, output: result.outcome.output };
}

/** A kind without a shape of its own: `nimbus_tool_call` with the tool's name, arguments and output. */
const genericItem: ItemMaker = (result) => ({
  item: {
    id: newId('ntc_'),
    type: 'nimbus_tool_call',
    status: 'completed',
    kind: result.kind,
    name: result.call.function.name,
    arguments: result.call.function.arguments,
    output: result.outcome.output,
    nimbus_call: chatForm(result),
  },
});

/** The items of the kinds given, `nimbus_tool_call` for any other. */
export function serverToolItems(makers: Readonly<Record<string, ItemMaker>> = {}): ServerToolItems {
  return {
    add(builder, result) {
      const made = (makers[result.kind] ?? genericItem)(result);
      if (made) builder.item(made.item, made.during);
    },
  };
}
