import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { readBatchInput } from './batch-input.js';

const line = (customId: string, extra: object = {}) =>
  JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] }, ...extra });

function read(text: string, maxRequests = 10) {
  return readBatchInput(Readable.from([text]), '/v1/chat/completions', { maxRequests });
}

describe('batch input', () => {
  test('requests are numbered in order; blank lines are skipped but counted as file lines', async () => {
    const input = await read(`${line('a')}\n\n${line('b')}\r\n`);
    expect(input).toEqual({
      ok: true,
      lines: [
        { index: 0, lineNumber: 1, customId: 'a', body: { model: 'm', messages: [] } },
        { index: 1, lineNumber: 3, customId: 'b', body: { model: 'm', messages: [] } },
      ],
    });
  });

  test('every problem is reported with its line number and param', async () => {
    const text = [
      line('a'),
      '{not json',
      JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } }),
      line('a'),
      line('c', { url: '/v1/embeddings' }),
      line('d', { method: 'GET' }),
      line('e', { body: { messages: [] } }),
      '[1]',
    ].join('\n');
    const input = await read(text);
    expect(input.ok).toBe(false);
    if (input.ok) return;
    expect(input.errors.map((error) => [error.line, error.code, error.param])).toEqual([
      [2, 'invalid_json_line', null],
      [3, 'missing_required_parameter', 'custom_id'],
      [4, 'duplicate_custom_id', 'custom_id'],
      [5, 'invalid_url', 'url'],
      [6, 'invalid_value', 'method'],
      [7, 'missing_required_parameter', 'body.model'],
      [8, 'invalid_request', null],
    ]);
    expect(input.errors[3]!.message).toContain('/v1/chat/completions');
  });

  test('past the request limit, and an empty file, fail as a whole', async () => {
    const over = await read([line('a'), line('b'), line('c')].join('\n'), 2);
    expect(over).toEqual({
      ok: false,
      errors: [expect.objectContaining({ code: 'too_many_requests', line: null, message: expect.stringContaining('3 requests') })],
    });
    const empty = await read('\n\n');
    expect(empty).toEqual({ ok: false, errors: [expect.objectContaining({ code: 'empty_file' })] });
  });

  test('problems past the first hundred are counted, not listed', async () => {
    const input = await readBatchInput(Readable.from([Array.from({ length: 150 }, () => '{').join('\n')]), '/v1/completions', { maxRequests: 1000 });
    expect(input.ok).toBe(false);
    if (input.ok) return;
    expect(input.errors).toHaveLength(101);
    expect(input.errors[100]).toMatchObject({ code: 'too_many_errors', message: '50 more problems were found and not listed.' });
  });
});
