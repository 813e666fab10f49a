import { describe, expect, test } from 'vitest';
import { providerConfigSchema } from '../../core/config.js';
import { chatCompletionFields } from '../../core/openai/request-schemas.js';
import { forwardable } from './openai-engine.js';
import { UpstreamProvider } from './upstream-provider.js';

const provider = (forwardFields?: string[]) =>
  new UpstreamProvider(providerConfigSchema.parse({ id: 'up', baseUrl: 'http://127.0.0.1:9/v1', ...(forwardFields ? { forwardFields } : {}) }), {});

describe('forwardable: what of a request a provider gets', () => {
  const request = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, chat_template_kwargs: { enable_thinking: false }, store: true };

  test('by default, only the fields Nimbus checked', () => {
    expect(forwardable(request, chatCompletionFields, provider())).toEqual({ model: 'm', messages: request.messages, max_tokens: 4 });
  });

  test('the fields a provider names, and no others', () => {
    expect(forwardable(request, chatCompletionFields, provider(['chat_template_kwargs']))).toEqual({
      model: 'm',
      messages: request.messages,
      max_tokens: 4,
      chat_template_kwargs: { enable_thinking: false },
    });
  });

  test('every field with "*"', () => {
    expect(forwardable(request, chatCompletionFields, provider(['*']))).toBe(request);
  });

  test('a request with nothing to leave out goes as it is, not copied', () => {
    const plain = { model: 'm', messages: request.messages, stream: true };
    expect(forwardable(plain, chatCompletionFields, provider())).toBe(plain);
  });
});
