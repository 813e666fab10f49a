import { describe, expect, test } from 'vitest';
import type { ChatMessage } from '../../core/openai/request-schemas.js';
import { toChatHistory } from './chat-history.js';

describe('toChatHistory', () => {
  test('system, user: ends with an empty model turn', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'S' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
    ];
    expect(toChatHistory(messages)).toEqual([
      { type: 'system', text: 'S' },
      { type: 'user', text: 'ab' },
      { type: 'model', response: [] },
    ]);
  });

  test('developer messages are system messages', () => {
    expect(
      toChatHistory([
        { role: 'developer', content: 'D' },
        { role: 'user', content: 'u' },
      ])[0],
    ).toEqual({ type: 'system', text: 'D' });
  });

  test('tool calls and their results join one model turn, which the model continues', () => {
    const history = toChatHistory([
      { role: 'user', content: 'lamp on' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lamp', arguments: '{"on":true}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
    ]);
    expect(history).toEqual([
      { type: 'user', text: 'lamp on' },
      { type: 'model', response: [{ type: 'functionCall', name: 'lamp', params: { on: true }, result: { ok: true } }] },
    ]);
  });

  test('an assistant message after tool results continues the same turn', () => {
    const history = toChatHistory([
      { role: 'user', content: 'q' },
      { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'plain text' },
      { role: 'assistant', content: 'done' },
      { role: 'user', content: 'thanks' },
    ]);
    expect(history[1]).toEqual({ type: 'model', response: [{ type: 'functionCall', name: 'f', params: {}, result: 'plain text' }, 'done'] });
    expect(history.at(-1)).toEqual({ type: 'model', response: [] });
  });

  test('a prefilled assistant message is continued, not closed', () => {
    const history = toChatHistory([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'Once' },
    ]);
    expect(history.at(-1)).toEqual({ type: 'model', response: ['Once'] });
  });

  test.each<[string, ChatMessage[], string]>([
    [
      'a result for an unknown call',
      [
        { role: 'user', content: 'x' },
        { role: 'tool', tool_call_id: 'zz', content: 'r' },
      ],
      'messages[1].tool_call_id',
    ],
    [
      'a missing result',
      [
        { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'user', content: 'x' },
      ],
      'messages[1]',
    ],
    ['a missing result at the end', [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }], 'messages'],
    [
      'arguments that are not JSON',
      [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }] }],
      'messages[0].tool_calls[0].function.arguments',
    ],
  ])('refuses %s', (_name, messages, param) => {
    expect(() => toChatHistory(messages)).toThrowError(expect.objectContaining({ param }));
  });
});
