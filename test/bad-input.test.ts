/**
 * Malformed requests get the right 4xx in OpenAI's error shape, no stack trace, and the server
 * keeps answering. Uses Fastify's inject (no port needed: the wire is not the point here).
 */
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
const user = [{ role: 'user', content: 'hi' }];
const chat = (extra: Record<string, unknown>) => ({ model: 'stories', messages: user, max_tokens: 4, ...extra });
const tool = (parameters: unknown, name = 'f') => ({ type: 'function', function: { name, parameters } });

interface Case {
  name: string;
  url?: string;
  method?: 'POST' | 'GET' | 'PUT' | 'DELETE' | 'PATCH';
  body?: unknown;
  raw?: string;
  contentType?: string;
  status: number;
  param?: string | null;
  code?: string;
}

const cases: Case[] = [
  { name: 'bad JSON', raw: '{"model": "stories", "messages": [', status: 400, code: 'invalid_json' },
  { name: 'empty body', raw: '', status: 400, code: 'invalid_json' },
  { name: 'JSON array body', body: [1, 2], status: 400, code: 'invalid_request' },
  { name: 'JSON string body', raw: '"hello"', status: 400 },
  { name: 'text/plain body', raw: 'hello', contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  { name: 'missing model', body: { messages: user }, status: 400, param: 'model', code: 'missing_required_parameter' },
  { name: 'model not a string', body: { model: 5, messages: user }, status: 400, param: 'model', code: 'invalid_type' },
  { name: 'empty model', body: { model: '', messages: user }, status: 400, param: 'model' },
  { name: 'unknown model', body: { model: 'no-such-model', messages: user }, status: 404, param: 'model', code: 'model_not_found' },
  { name: 'missing messages', body: { model: 'stories' }, status: 400, param: 'messages', code: 'missing_required_parameter' },
  { name: 'empty messages', body: { model: 'stories', messages: [] }, status: 400, param: 'messages' },
  { name: 'messages not a list', body: { model: 'stories', messages: 'hi' }, status: 400, param: 'messages', code: 'invalid_type' },
  {
    name: 'unknown role',
    body: { model: 'stories', messages: [{ role: 'wizard', content: 'x' }] },
    status: 400,
    param: 'messages[0].role',
    code: 'invalid_value',
  },
  { name: 'missing role', body: { model: 'stories', messages: [{ content: 'x' }] }, status: 400, param: 'messages[0].role' },
  { name: 'content a number', body: { model: 'stories', messages: [{ role: 'user', content: 5 }] }, status: 400, param: 'messages[0].content' },
  {
    name: 'image part',
    body: { model: 'stories', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
    status: 400,
    param: 'messages[0].content[0].type',
  },
  { name: 'tool message without id', body: { model: 'stories', messages: [{ role: 'tool', content: 'x' }] }, status: 400, param: 'messages[0].tool_call_id' },
  {
    name: 'tool result for an unknown call',
    body: { model: 'stories', messages: [...user, { role: 'tool', tool_call_id: 'nope', content: 'x' }] },
    status: 400,
    param: 'messages[1].tool_call_id',
  },
  {
    name: 'tool arguments not JSON',
    body: chat({
      messages: [
        { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{nope' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'x' },
      ],
    }),
    status: 400,
    param: 'messages[0].tool_calls[0].function.arguments',
  },
  { name: 'negative max_tokens', body: chat({ max_tokens: -1 }), status: 400, param: 'max_tokens' },
  { name: 'zero max_tokens', body: chat({ max_tokens: 0 }), status: 400, param: 'max_tokens' },
  { name: 'fractional max_tokens', body: chat({ max_tokens: 2.5 }), status: 400, param: 'max_tokens' },
  { name: 'temperature too high', body: chat({ temperature: 3 }), status: 400, param: 'temperature' },
  { name: 'temperature a string', body: chat({ temperature: 'hot' }), status: 400, param: 'temperature', code: 'invalid_type' },
  { name: 'top_p above 1', body: chat({ top_p: 1.5 }), status: 400, param: 'top_p' },
  { name: 'presence_penalty out of range', body: chat({ presence_penalty: 5 }), status: 400, param: 'presence_penalty' },
  { name: 'n = 2', body: chat({ n: 2 }), status: 400, param: 'n', code: 'unsupported_value' },
  { name: 'stop list of numbers', body: chat({ stop: [1] }), status: 400, param: 'stop[0]' },
  { name: 'five stop strings', body: chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), status: 400, param: 'stop' },
  { name: 'stream not a boolean', body: chat({ stream: 'yes' }), status: 400, param: 'stream' },
  { name: 'stream_options without stream', body: chat({ stream_options: { include_usage: true } }), status: 400, param: 'stream_options' },
  { name: 'unknown response_format', body: chat({ response_format: { type: 'yaml' } }), status: 400, param: 'response_format.type' },
  {
    name: 'json_schema without name',
    body: chat({ response_format: { type: 'json_schema', json_schema: { schema: { type: 'object' } } } }),
    status: 400,
    param: 'response_format.json_schema.name',
  },
  {
    name: 'json_schema without schema',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }),
    status: 400,
    param: 'response_format.json_schema.schema',
  },
  { name: 'max_tokens past the context', body: chat({ max_tokens: 1e9 }), status: 400, param: 'max_tokens', code: 'invalid_value' },
  { name: 'max_completion_tokens past the context', body: chat({ max_completion_tokens: 513 }), status: 400, param: 'max_completion_tokens' },
  {
    name: 'completion max_tokens past the context',
    url: '/v1/completions',
    body: { model: 'stories', prompt: 'x', max_tokens: 100000 },
    status: 400,
    param: 'max_tokens',
  },
  { name: 'a wrong method with a JSON content type and no body', method: 'PUT', url: '/v1/chat/completions', status: 405, code: 'method_not_allowed' },
  { name: 'DELETE on an inference route, no body', method: 'DELETE', url: '/v1/completions', status: 405 },
  { name: 'an unknown path with a JSON content type and no body', method: 'POST', url: '/v1/nothing-here', status: 404, code: 'not_found' },
  { name: 'an unknown path with a JSON content type and a bad body', method: 'PATCH', url: '/v1/nothing-here', raw: '{oops', status: 404 },
  {
    name: 'json_schema with an unknown type',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'banana' } } } }),
    status: 400,
    param: 'response_format.json_schema.schema',
    code: 'invalid_schema',
  },
  {
    name: 'json_schema with a pattern',
    body: chat({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '^a' } } } }),
    status: 400,
    code: 'invalid_schema',
  },
  { name: 'tools not a list', body: chat({ tools: { type: 'function' } }), status: 400, param: 'tools' },
  { name: 'tool with a bad name', body: chat({ tools: [tool({ type: 'object' }, 'bad name!')] }), status: 400, param: 'tools[0].function.name' },
  {
    name: 'tool schema not an object type',
    body: chat({ tools: [tool({ type: 'string' })] }),
    status: 400,
    param: 'tools[0].function.parameters',
    code: 'invalid_schema',
  },
  {
    name: 'tool schema with an empty integer range',
    body: chat({ tools: [tool({ type: 'object', properties: { x: { type: 'integer', minimum: 5, maximum: 1 } } })] }),
    status: 400,
    param: 'tools[0].function.parameters',
    code: 'invalid_schema',
  },
  {
    name: 'tool schema with multipleOf',
    body: chat({ tools: [tool({ type: 'object', properties: { x: { type: 'number', multipleOf: 0.5 } } })] }),
    status: 400,
    param: 'tools[0].function.parameters',
    code: 'invalid_schema',
  },
  {
    name: 'tool schema with a remote $ref',
    body: chat({ tools: [tool({ type: 'object', properties: { x: { $ref: 'http://example.com/s.json' } } })] }),
    status: 400,
    code: 'invalid_schema',
  },
  { name: 'duplicate tool names', body: chat({ tools: [tool({ type: 'object' }), tool({ type: 'object' })] }), status: 400, param: 'tools[1].function.name' },
  {
    name: 'tool_choice names a missing tool',
    body: chat({ tools: [tool({ type: 'object' })], tool_choice: { type: 'function', function: { name: 'g' } } }),
    status: 400,
    param: 'tool_choice.function.name',
  },
  { name: 'tool_choice required without tools', body: chat({ tool_choice: 'required' }), status: 400, param: 'tool_choice' },
  { name: 'tool_choice an unknown word', body: chat({ tools: [tool({ type: 'object' })], tool_choice: 'sometimes' }), status: 400, param: 'tool_choice' },
  { name: 'logprobs requested', body: chat({ logprobs: true }), status: 400, param: 'logprobs' },
  { name: 'completions without prompt', url: '/v1/completions', body: { model: 'stories' }, status: 400, param: 'prompt' },
  { name: 'completions with two prompts', url: '/v1/completions', body: { model: 'stories', prompt: ['a', 'b'] }, status: 400, param: 'prompt' },
  { name: 'completions with suffix', url: '/v1/completions', body: { model: 'stories', prompt: 'a', suffix: 'b' }, status: 400, param: 'suffix' },
  { name: 'embeddings with empty input', url: '/v1/embeddings', body: { model: 'stories', input: '' }, status: 400, param: 'input' },
  { name: 'embeddings with an empty list', url: '/v1/embeddings', body: { model: 'stories', input: [] }, status: 400, param: 'input' },
  { name: 'embeddings with wrong dimensions', url: '/v1/embeddings', body: { model: 'stories', input: 'a', dimensions: 3 }, status: 400, param: 'dimensions' },
  { name: 'embeddings for an unknown model', url: '/v1/embeddings', body: { model: 'nope', input: 'a' }, status: 404, code: 'model_not_found' },
  {
    name: 'prompt longer than the context',
    url: '/v1/completions',
    body: { model: 'stories', prompt: 'cat '.repeat(700) },
    status: 400,
    code: 'context_length_exceeded',
  },
  { name: 'unknown route', url: '/v1/nothing', body: {}, status: 404, code: 'not_found' },
  { name: 'unknown model id', url: '/v1/models/nope', method: 'GET', status: 404, code: 'model_not_found' },
];

describe.skipIf(skip)('bad input', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ bodyLimit: 64 * 1024 });
  });
  afterAll(async () => server?.stop());

  test(`the table has at least 30 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  test.each(cases)('$name -> $status', async (item) => {
    const response = await server.nimbus.app.inject({
      method: item.method ?? 'POST',
      url: item.url ?? '/v1/chat/completions',
      headers: item.method === 'GET' ? {} : { 'content-type': item.contentType ?? 'application/json' },
      ...(item.method === 'GET' ? {} : { payload: item.raw ?? JSON.stringify(item.body) }),
    });
    expect(response.statusCode, response.body).toBe(item.status);
    const body = response.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.message).not.toMatch(/\n\s+at /);
    if (item.param !== undefined) expect(body.error.param).toBe(item.param);
    if (item.code) expect(body.error.code).toBe(item.code);
    // Every error answer can be traced: it carries a request id, as successes do.
    expect(response.headers['x-request-id']).toMatch(/^(req_|chatcmpl-|cmpl-)/);
    if (item.status === 405) expect(response.headers.allow).toContain('POST');
  });

  test('refusals are counted in /metrics by status and code', async () => {
    const metrics = await server.nimbus.app.inject({ method: 'GET', url: '/metrics' });
    const counted = (status: number, code: string): number => {
      const line = metrics.body.split('\n').find((text) => text.startsWith(`nimbus_http_errors_total{status="${status}",code="${code}"}`));
      return Number(line?.split(' ').pop() ?? 0);
    };
    expect(counted(400, 'invalid_value')).toBeGreaterThan(0);
    expect(counted(400, 'invalid_json')).toBeGreaterThan(0);
    expect(counted(404, 'not_found')).toBeGreaterThan(0);
    expect(counted(404, 'model_not_found')).toBeGreaterThan(0);
    expect(counted(405, 'method_not_allowed')).toBeGreaterThan(0);
    expect(counted(415, 'unsupported_media_type')).toBeGreaterThan(0);
    // The 413s of the socket tests run after this one; the table's inject never goes past the limit.
  });

  test('a body over the limit is a 413 over a real socket', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat({ messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] })),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
  });

  test("a body far over the limit reaches Node's http, fetch and the openai SDK as 413, not a connection error", async () => {
    // 8 MiB against a 64 KiB limit: the client is still writing when the server has decided.
    const content = 'x'.repeat(8 << 20);
    const body = JSON.stringify(chat({ messages: [{ role: 'user', content }] }));
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local', maxRetries: 0 });
    for (let round = 0; round < 3; round += 1) {
      const viaHttp = await new Promise<{ status?: number; errors: string[] }>((resolve) => {
        const errors: string[] = [];
        let status: number | undefined;
        const request = httpRequest(
          `${server.url}/v1/chat/completions`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (response) => {
            status = response.statusCode;
            response.resume();
            // A reset after the answer would still show up on the request as an error: wait a moment for it.
            response.on('end', () => setTimeout(() => resolve({ status, errors }), 100));
          },
        );
        request.on('error', (error) => {
          errors.push(error.message);
          if (status === undefined) resolve({ errors });
        });
        request.end(body);
      });
      expect(viaHttp).toEqual({ status: 413, errors: [] });
      const viaFetch = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(viaFetch.status).toBe(413);
      expect(((await viaFetch.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
      await expect(client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content }] })).rejects.toMatchObject({
        status: 413,
        code: 'request_too_large',
      });
    }
    const metrics = await server.nimbus.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^nimbus_http_errors_total\{status="413",code="request_too_large"\} [1-9]/m);
  });

  test('after all of that, the server still answers', async () => {
    const answer = await server.client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(answer.choices[0]!.message.content).toBeTypeOf('string');
    const rows = await server.nimbus.store.flush().then(() => server.nimbus.store.listRequests({ limit: 500 }));
    expect(rows.some((row) => row.status === 'ok')).toBe(true);
  });
});
