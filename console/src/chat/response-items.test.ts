import { describe, expect, it } from 'vitest';
import { chatReducer, emptyChat, type ChatState } from './chat-state.js';
import { actionsOf } from './stream-response.js';

const run = (events: Array<{ type: string } & Record<string, unknown>>): ChatState =>
  events
    .flatMap((event, at) => actionsOf(event as Parameters<typeof actionsOf>[0], 1000 + at * 10))
    .reduce(chatReducer, chatReducer(emptyChat, { type: 'send', text: 'hi', at: 990 }));

describe('the output items of a streamed Responses turn', () => {
  it('a search shows the passages it found, with file, score and text, once it is done', () => {
    const hit = { file_id: 'file-1', filename: 'lesson-1.md', score: 0.82, text: 'The mean adds the values.' };
    const state = run([
      { type: 'response.output_item.added', item: { id: 'fs_1', type: 'file_search_call', status: 'in_progress', queries: [] } },
      { type: 'response.output_item.done', item: { id: 'fs_1', type: 'file_search_call', status: 'completed', queries: ['mean'], results: [hit] } },
    ]);
    expect(state.messages[1]!.toolCalls).toEqual([{ id: 'fs_1', name: 'file_search', arguments: '{"queries":["mean"]} → 1 passage' }]);
    expect(state.messages[1]!.passages).toEqual([{ fileId: 'file-1', filename: 'lesson-1.md', score: 0.82, text: 'The mean adds the values.' }]);
  });

  it('a function call for the client shows its name at once and its arguments when they are complete', () => {
    const added = { id: 'fc_1', type: 'function_call', status: 'in_progress', call_id: 'call_1', name: 'award_badge', arguments: '' };
    const running = run([{ type: 'response.output_item.added', item: added }]);
    expect(running.messages[1]!.toolCalls).toEqual([{ id: 'call_1', name: 'award_badge', arguments: '…' }]);
    const state = run([
      { type: 'response.output_item.added', item: added },
      { type: 'response.function_call_arguments.delta', delta: '{"badge":' },
      { type: 'response.output_item.done', item: { ...added, status: 'completed', arguments: '{"badge":"gold"}' } },
    ]);
    expect(state.messages[1]!.toolCalls).toEqual([{ id: 'call_1', name: 'award_badge', arguments: '{"badge":"gold"}' }]);
  });

  it('an MCP call shows its server, tool, arguments and output; a failed one its error', () => {
    const state = run([
      {
        type: 'response.output_item.done',
        item: { id: 'mcp_1', type: 'mcp_call', server_label: 'docs', name: 'lookup', arguments: '{"q":"x"}', output: 'found x' },
      },
      { type: 'response.output_item.done', item: { id: 'mcp_2', type: 'mcp_call', server_label: 'docs', name: 'lookup', arguments: '{}', error: 'timed out' } },
    ]);
    expect(state.messages[1]!.toolCalls.map((call) => `${call.name}(${call.arguments})`)).toEqual([
      'docs.lookup({"q":"x"} → found x)',
      'docs.lookup({} → failed: timed out)',
    ]);
  });

  it('device actions arrive as the actions of the answer: one run, one waiting for a person', () => {
    const action = { device: 'car-1', kind: 'action', name: 'set_seat_heating', status: 'executed', message: 'done' };
    const state = run([
      { type: 'response.output_item.added', item: { id: 'ndc_1', type: 'nimbus_device_call', device: 'car-1' } },
      { type: 'response.output_item.done', item: { id: 'ndc_1', type: 'nimbus_device_call', status: 'completed', device: 'car-1', action } },
      {
        type: 'response.output_item.done',
        item: {
          id: 'ndar_1',
          type: 'nimbus_device_approval_request',
          device: 'car-1',
          name: 'open_window',
          approval_id: 'apr_1',
          message: 'driving: approve on the car',
        },
      },
    ]);
    expect(state.messages[1]!.actions).toEqual([
      action,
      { device: 'car-1', kind: 'action', name: 'open_window', status: 'approval_required', message: 'driving: approve on the car', approval: 'apr_1' },
    ]);
  });
});
