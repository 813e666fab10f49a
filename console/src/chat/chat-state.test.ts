import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../api/types.js';
import { chatReducer, emptyChat, requestMessages, type ChatAction, type ChatState } from './chat-state.js';

const run = (actions: ChatAction[], state: ChatState = emptyChat): ChatState => actions.reduce(chatReducer, state);
const entry = (id: string): AuditEntry => ({
  seq: 1,
  id,
  at: 1,
  event: 'proposal',
  actor: 'key_1',
  key: 'key_1',
  model: 'm',
  conversation: 'c',
  source: 'chat',
  device: 'sim-lock-1',
  command: null,
  approval: null,
  detail: {},
});

describe('chatReducer', () => {
  it('grows the answer chunk by chunk and records the time to the first text', () => {
    const state = run([
      { type: 'send', text: 'hi', at: 1000 },
      { type: 'chunk', chunk: { choices: [{ delta: { content: '' } }] }, at: 1010 },
      { type: 'chunk', chunk: { choices: [{ delta: { content: 'Once' } }] }, at: 1040 },
      { type: 'chunk', chunk: { choices: [{ delta: { content: ' upon' }, finish_reason: 'stop' }] }, at: 1050 },
      { type: 'chunk', chunk: { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } }, at: 1060 },
      { type: 'done' },
    ]);
    expect(state.messages.map((message) => [message.role, message.content])).toEqual([
      ['user', 'hi'],
      ['assistant', 'Once upon'],
    ]);
    expect(state.messages[1]!.finishReason).toBe('stop');
    expect(state.firstTokenMs).toBe(40);
    expect(state.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2 });
    expect(state.streaming).toBe(false);
  });

  it('merges streamed tool-call fragments by index', () => {
    const state = run([
      { type: 'send', text: 'unlock', at: 0 },
      {
        type: 'chunk',
        chunk: { choices: [{ delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'sim-lock-1__', arguments: '{"sec' } }] } }] },
        at: 1,
      },
      { type: 'chunk', chunk: { choices: [{ delta: { tool_calls: [{ index: 0, function: { name: 'unlock', arguments: 'onds":5}' } }] } }] }, at: 2 },
    ]);
    expect(state.messages[1]!.toolCalls).toEqual([{ id: 'call_1', name: 'sim-lock-1__unlock', arguments: '{"seconds":5}' }]);
  });

  it('attaches live device activity once, and the final chunk’s action outcomes', () => {
    const state = run([
      { type: 'send', text: 'unlock', at: 0 },
      { type: 'activity', entry: entry('aud_1') },
      { type: 'activity', entry: entry('aud_1') },
      {
        type: 'chunk',
        chunk: {
          choices: [{ delta: {}, finish_reason: 'stop' }],
          nimbus: { actions: [{ device: 'sim-lock-1', kind: 'invoke', status: 'approval_required', message: 'needs approval' }] },
        },
        at: 5,
      },
    ]);
    expect(state.messages[1]!.activity.map((item) => item.id)).toEqual(['aud_1']);
    expect(state.messages[1]!.actions[0]!.status).toBe('approval_required');
  });

  it('refuses a second send while streaming, ends on an error, and sends only finished text', () => {
    const first = run([{ type: 'send', text: 'a', at: 0 }]);
    expect(chatReducer(first, { type: 'send', text: 'b', at: 1 })).toBe(first);
    const failed = chatReducer(first, { type: 'error', message: 'The model is not loaded.' });
    expect(failed.streaming).toBe(false);
    expect(failed.error).toBe('The model is not loaded.');
    expect(requestMessages(failed)).toEqual([{ role: 'user', content: 'a' }]);
    expect(chatReducer(failed, { type: 'activity', entry: entry('x') })).toBe(failed);
  });
});
