import { describe, expect, it } from 'vitest';
import { chatReducer, emptyChat, type ChatAction, type ChatState } from './chat-state.js';
import { actionsOf, responsesBody } from './stream-response.js';

const run = (events: Array<{ type: string } & Record<string, unknown>>): ChatState =>
  events
    .flatMap((event, at) => actionsOf(event as Parameters<typeof actionsOf>[0], 1000 + at * 10))
    .reduce(chatReducer, chatReducer(emptyChat, { type: 'send', text: 'krill?', at: 990 }));

describe('a knowledge turn through /v1/responses', () => {
  it('asks for a search of the chosen stores on every turn, unstored, with the sampling of the page', () => {
    const body = responsesBody({
      model: 'm',
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
      ],
      vectorStoreIds: ['vs_1', 'vs_2'],
      temperature: 0.2,
      maxTokens: 64,
      topP: 0.9,
    });
    expect(body).toMatchObject({
      model: 'm',
      input: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
      ],
      tools: [{ type: 'file_search', vector_store_ids: ['vs_1', 'vs_2'] }],
      tool_choice: { type: 'file_search' },
      include: ['file_search_call.results'],
      temperature: 0.2,
      top_p: 0.9,
      max_output_tokens: 64,
      store: false,
      stream: true,
    });
  });

  it('shows the search while it runs, then its passages, the text, the citations and the usage', () => {
    const searching = run([
      { type: 'response.created' },
      { type: 'response.output_item.added', item: { id: 'fs_1', type: 'file_search_call', status: 'in_progress', queries: [] } },
    ]);
    expect(searching.messages[1]!.toolCalls).toEqual([{ id: 'fs_1', name: 'file_search', arguments: '{"queries":[]} …' }]);
    const state = run([
      { type: 'response.output_item.added', item: { id: 'fs_1', type: 'file_search_call', status: 'in_progress', queries: [] } },
      { type: 'response.output_item.done', item: { id: 'fs_1', type: 'file_search_call', status: 'completed', queries: ['krill'], results: [{}, {}] } },
      { type: 'response.output_item.added', item: { id: 'msg_1', type: 'message' } },
      { type: 'response.output_text.delta', delta: 'Krill are ' },
      { type: 'response.output_text.delta', delta: 'small.' },
      { type: 'response.output_text.annotation.added', annotation: { type: 'file_citation', file_id: 'file-1', filename: 'krill.md', index: 16 } },
      { type: 'response.output_text.annotation.added', annotation: { type: 'file_citation', file_id: 'file-1', filename: 'krill.md', index: 16 } },
      { type: 'response.output_text.annotation.added', annotation: { type: 'url_citation', url: 'https://x' } },
      { type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 30, output_tokens: 4 } } },
    ]);
    const answer = state.messages[1]!;
    expect(answer.toolCalls).toEqual([{ id: 'fs_1', name: 'file_search', arguments: '{"queries":["krill"]} → 2 passages' }]);
    expect(answer.content).toBe('Krill are small.');
    expect(answer.citations).toEqual([{ fileId: 'file-1', filename: 'krill.md', index: 16 }]);
    expect(answer.finishReason).toBe('stop');
    expect(state.usage).toEqual({ prompt_tokens: 30, completion_tokens: 4 });
    expect(state.firstTokenMs).toBe(40);
  });

  it('an incomplete answer keeps its reason; a failed search says so; unknown events change nothing', () => {
    const state = run([
      { type: 'response.output_item.done', item: { id: 'fs_1', type: 'file_search_call', status: 'failed', queries: ['x'] } },
      { type: 'response.in_progress' },
      { type: 'response.content_part.added' },
      { type: 'response.incomplete', response: { incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 5, output_tokens: 8 } } },
    ]);
    expect(state.messages[1]!.toolCalls[0]!.arguments).toBe('{"queries":["x"]} → failed');
    expect(state.messages[1]!.finishReason).toBe('max_output_tokens');
    expect(state.usage).toEqual({ prompt_tokens: 5, completion_tokens: 8 });
  });

  it('a tool call or citation after the conversation was reset is dropped', () => {
    const actions: ChatAction[] = [
      { type: 'toolCall', call: { id: 'fs', name: 'file_search', arguments: '' } },
      { type: 'citation', citation: { fileId: 'f', filename: 'f.txt', index: 0 } },
    ];
    expect(actions.reduce(chatReducer, emptyChat)).toEqual(emptyChat);
  });
});
