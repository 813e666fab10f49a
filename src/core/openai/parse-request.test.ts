import { describe, expect, test } from 'vitest';
import { formatParamPath, parseRequest } from './parse-request.js';
import { chatCompletionRequestSchema } from './request-schemas.js';

describe('parseRequest', () => {
  test('formats paths the way OpenAI names params', () => {
    expect(formatParamPath(['messages', 0, 'content', 2, 'type'])).toBe('messages[0].content[2].type');
    expect(formatParamPath([])).toBe('');
  });

  test('accepts a valid request and keeps unknown top-level fields, unchecked, for an upstream engine', () => {
    const body = parseRequest(chatCompletionRequestSchema, { model: 'm', messages: [{ role: 'user', content: 'hi', extra: 2 }], vendor_extra: { a: 1 } });
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }], vendor_extra: { a: 1 } });
  });

  test.each([
    [null, 'invalid_request', null],
    [[], 'invalid_request', null],
    [{ messages: [] }, 'missing_required_parameter', 'model'],
    [{ model: 'm', messages: [{ role: 'x', content: 'y' }] }, 'invalid_value', 'messages[0].role'],
    [{ model: 'm', messages: [{ role: 'user', content: true }] }, 'invalid_type', 'messages[0].content'],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], top_p: 'a' }, 'invalid_type', 'top_p'],
  ])('%j -> %s at %s', (body, code, param) => {
    expect(() => parseRequest(chatCompletionRequestSchema, body)).toThrowError(expect.objectContaining({ code, param }));
  });
});
