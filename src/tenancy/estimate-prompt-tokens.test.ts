import { describe, expect, test } from 'vitest';
import { estimateChatPromptTokens, estimateEmbeddingTokens, estimateTextPromptTokens } from './estimate-prompt-tokens.js';

const messages = [
  { role: 'system' as const, content: 'You are helpful.' },
  { role: 'user' as const, content: 'Héllo 👋 — how are you?' },
];

describe('prompt token upper bounds', () => {
  test('a chat prompt is bounded by the UTF-8 bytes of its messages plus a template allowance', () => {
    const bytes = Buffer.byteLength(JSON.stringify(messages));
    expect(estimateChatPromptTokens({ messages })).toBe(bytes + 64);
    // Never below the bytes of the text itself: no tokenizer makes more tokens than bytes.
    const text = messages.map((message) => message.content).join('');
    expect(estimateChatPromptTokens({ messages })).toBeGreaterThan(Buffer.byteLength(text));
  });

  test('tools add their JSON and room for the tool instructions', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }];
    expect(estimateChatPromptTokens({ messages, tools })).toBe(
      Buffer.byteLength(JSON.stringify(messages)) + 64 + Buffer.byteLength(JSON.stringify(tools)) + 512,
    );
    expect(estimateChatPromptTokens({ messages, tools: [] })).toBe(estimateChatPromptTokens({ messages }));
  });

  test('the body length, where known, bounds it without serializing again', () => {
    const body = JSON.stringify({ model: 'm', messages });
    expect(estimateChatPromptTokens({ messages }, Buffer.byteLength(body))).toBe(Buffer.byteLength(body) + 64);
    expect(estimateChatPromptTokens({ messages }, Buffer.byteLength(body))).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(messages)));
    expect(estimateChatPromptTokens({ messages }, Number.NaN)).toBe(estimateChatPromptTokens({ messages }));
    expect(estimateChatPromptTokens({ messages }, 0)).toBe(estimateChatPromptTokens({ messages }));
  });

  test('text completions and embeddings', () => {
    expect(estimateTextPromptTokens('Once upon a time')).toBe(16 + 64);
    expect(estimateTextPromptTokens('é')).toBe(2 + 64);
    expect(estimateEmbeddingTokens(['ab', 'cde'])).toBe(2 + 2 + 3 + 2);
    expect(estimateEmbeddingTokens([])).toBe(0);
  });
});
