import { describe, expect, test } from 'vitest';
import { cutToBytes, memoryBytes, memoryText, memoryTurns, remember, withMemory } from './app-memory.js';

describe('app memory', () => {
  test('keeps the last exchanges, each side cut to its byte cap on a character boundary', () => {
    let turns = remember([], 'hello', 'hi there');
    for (let index = 0; index < 20; index += 1) turns = remember(turns, `question ${index}`, `answer ${index}`);
    expect(turns).toHaveLength(memoryTurns);
    expect(turns.at(-1)).toEqual({ user: 'question 19', assistant: 'answer 19' });
    expect(turns[0]).toEqual({ user: 'question 12', assistant: 'answer 12' });
    const long = remember([], 'é'.repeat(500), 'x'.repeat(1000));
    expect(Buffer.byteLength(long[0]!.user)).toBeLessThanOrEqual(256);
    expect(long[0]!.user.endsWith('…')).toBe(true);
    expect(cutToBytes('a  b\n\nc', 100)).toBe('a b c');
  });

  test('the whole text stays under its cap, and goes after the instructions', () => {
    let turns = remember([], 'a', 'b');
    for (let index = 0; index < 8; index += 1) turns = remember(turns, 'q'.repeat(300), 'r'.repeat(300));
    expect(Buffer.byteLength(memoryText(turns))).toBeLessThanOrEqual(memoryBytes);
    expect(withMemory('Be kind.', [])).toBe('Be kind.');
    expect(withMemory('Be kind.', [{ user: 'u', assistant: 'a' }])).toBe(
      'Be kind.\n\nWhat you remember of this user from earlier conversations (oldest first):\nUser: u\nAssistant: a',
    );
  });
});
