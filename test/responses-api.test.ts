/**
 * `/v1/responses` with the official `openai` client against a real server running the real
 * llama.cpp engine on stories260K: create, retrieve, delete, input items; instructions (not
 * carried over), previous_response_id and store; max_output_tokens; truncation; json_schema by
 * grammar; metadata and user; the ledger; bad input in OpenAI's shape.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callJson } from './support/json-api.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** `store` is in the response body as OpenAI sends it; the SDK's `Response` type leaves it out. */
const storeOf = (response: object): boolean | undefined => (response as { store?: boolean }).store;

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('/v1/responses over the llama engine (stories260K)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const ledger = async (id: string) => {
    await server.nimbus.store.flush();
    return (await server.nimbus.store.listRequests()).filter((row) => row.id === id || row.parentId === id);
  };

  test('create answers in OpenAI shape; retrieve gives the same object; the ledger has its row', async () => {
    const created = await server.client.responses.create({
      model: 'stories',
      input: 'Once upon a time',
      temperature: 0,
      max_output_tokens: 24,
      metadata: { topic: 'cats', run: '1' },
      user: 'user-7',
    });
    expect(created).toMatchObject({
      object: 'response',
      model: 'stories',
      store: true,
      previous_response_id: null,
      metadata: { topic: 'cats', run: '1' },
      user: 'user-7',
      truncation: 'disabled',
      error: null,
    });
    expect(created.id).toMatch(/^resp_/);
    expect(created.output).toHaveLength(1);
    expect(created.output[0]).toMatchObject({ type: 'message', role: 'assistant' });
    expect(created.output_text.length).toBeGreaterThan(5);
    expect(created.usage!.output_tokens).toBeGreaterThan(0);
    expect(created.usage!.total_tokens).toBe(created.usage!.input_tokens + created.usage!.output_tokens);
    const retrieved = await server.client.responses.retrieve(created.id);
    expect(retrieved).toEqual(created);
    const rows = await ledger(created.id);
    expect(rows).toEqual([
      expect.objectContaining({
        id: created.id,
        kind: 'response',
        status: 'ok',
        httpStatus: 200,
        finishReason: 'length',
        promptTokens: created.usage!.input_tokens,
        completionTokens: created.usage!.output_tokens,
      }),
    ]);
  });

  test('max_output_tokens ends the response incomplete, with the reason', async () => {
    const response = await server.client.responses.create({ model: 'stories', input: 'Lily went to the park', max_output_tokens: 5 });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.usage!.output_tokens).toBe(5);
    expect(response.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
  });

  test('previous_response_id continues the conversation; instructions are not carried over; input items are the request’s own', async () => {
    const first = await server.client.responses.create({
      model: 'stories',
      instructions: 'You tell short stories about a dog named Max who likes the sea.',
      input: [{ role: 'user', content: 'Tell me about Max.' }],
      max_output_tokens: 12,
      temperature: 0,
    });
    expect(first.instructions).toContain('Max');
    const second = await server.client.responses.create({
      model: 'stories',
      previous_response_id: first.id,
      input: 'What did he do next?',
      max_output_tokens: 12,
      temperature: 0,
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.instructions).toBeNull();
    // The second prompt holds the first exchange (what the model saw is checked exactly in responses-tools.test.ts).
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.output_tokens + 5);
    const items = await server.client.responses.inputItems.list(second.id);
    expect(items.data.map((item) => item.type)).toEqual(['message']);
    expect(items.data[0]).toMatchObject({ role: 'user', content: [{ type: 'input_text', text: 'What did he do next?' }] });
    const ascending = await server.client.responses.inputItems.list(first.id, { order: 'asc' });
    expect(ascending.data).toHaveLength(1);
  });

  test('store: false is not kept: retrieve is a 404, continuing it a 400 naming previous_response_id', async () => {
    const unstored = await server.client.responses.create({ model: 'stories', input: 'Tom had a ball', store: false, max_output_tokens: 4 });
    expect(storeOf(unstored)).toBe(false);
    await expect(server.client.responses.retrieve(unstored.id)).rejects.toMatchObject({ status: 404 });
    await expect(server.client.responses.create({ model: 'stories', input: 'more', previous_response_id: unstored.id })).rejects.toMatchObject({
      status: 400,
      param: 'previous_response_id',
    });
  });

  test('delete cascades: the response, its input items and every continuation of it are gone', async () => {
    const first = await server.client.responses.create({ model: 'stories', input: 'A cat sat', max_output_tokens: 4 });
    const second = await server.client.responses.create({ model: 'stories', input: 'then', previous_response_id: first.id, max_output_tokens: 4 });
    await server.client.responses.delete(first.id);
    await expect(server.client.responses.retrieve(first.id)).rejects.toMatchObject({ status: 404 });
    await expect(server.client.responses.inputItems.list(first.id)).rejects.toMatchObject({ status: 404 });
    const again = await callJson(server.url, 'DELETE', `/v1/responses/${first.id}`);
    expect(again).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    // The later response is still there, but the conversation behind it lost a turn: continuing it says which.
    expect((await server.client.responses.retrieve(second.id)).id).toBe(second.id);
    const continued = await callJson(server.url, 'POST', '/v1/responses', { model: 'stories', input: 'and', previous_response_id: second.id });
    expect(continued.status).toBe(400);
    expect(continued.body.error).toMatchObject({ param: 'previous_response_id', type: 'invalid_request_error' });
    expect(continued.body.error.message).toContain(first.id);
  });

  test('truncation: disabled refuses a conversation past the context with a 400 naming input; auto drops the oldest turns', async () => {
    const long = 'The little dog ran to the big red barn and saw a cow. '.repeat(12);
    let previous: string | undefined;
    for (let turn = 0; turn < 4; turn += 1) {
      const response = await server.client.responses.create({
        model: 'stories',
        input: long,
        max_output_tokens: 4,
        truncation: 'auto',
        ...(previous ? { previous_response_id: previous } : {}),
      });
      expect(response.status).toBe('incomplete');
      previous = response.id;
    }
    const refused = await callJson(server.url, 'POST', '/v1/responses', {
      model: 'stories',
      input: long,
      previous_response_id: previous,
      max_output_tokens: 4,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'input', type: 'invalid_request_error' });
    const cut = await server.client.responses.create({
      model: 'stories',
      input: long,
      previous_response_id: previous!,
      max_output_tokens: 4,
      truncation: 'auto',
    });
    expect(cut.truncation).toBe('auto');
    // What remains fits the 512-token context, with room left for the answer.
    expect(cut.usage!.input_tokens).toBeLessThanOrEqual(512 * 0.75 + 10);
    expect(cut.usage!.output_tokens).toBe(4);
    // Even alone, an input past the context cannot be cut: a 400 naming input.
    const alone = await callJson(server.url, 'POST', '/v1/responses', { model: 'stories', input: long.repeat(4), truncation: 'auto' });
    expect(alone.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'input' });
  });

  test('text.format json_schema is held by grammar: the output parses and validates', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 1, maximum: 9 }, happy: { type: 'boolean' } },
      required: ['name', 'age', 'happy'],
      additionalProperties: false,
    };
    const response = await server.client.responses.create({
      model: 'stories',
      input: 'Describe a child.',
      text: { format: { type: 'json_schema', name: 'child', schema, strict: true } },
      max_output_tokens: 60,
    });
    expect(response.text?.format).toMatchObject({ type: 'json_schema', name: 'child' });
    const value: unknown = JSON.parse(response.output_text);
    expect(new Ajv().validate(schema, value)).toBe(true);
    const parsed = await server.client.responses.parse({
      model: 'stories',
      input: 'Describe a child.',
      text: { format: { type: 'json_schema', name: 'child', schema, strict: true } },
      max_output_tokens: 60,
    });
    expect(new Ajv().validate(schema, parsed.output_parsed)).toBe(true);
  });

  test('bad input gets OpenAI’s error shape and the right status', async () => {
    const cases: Array<[body: Record<string, unknown>, status: number, param: string | null]> = [
      [{ input: 'hi' }, 400, 'model'],
      [{ model: 'stories' }, 400, 'input'],
      [{ model: 'stories', input: 42 }, 400, 'input'],
      [{ model: 'stories', input: [] }, 400, 'input'],
      [{ model: 'stories', input: [{ role: 'wizard', content: 'hi' }] }, 400, 'input[0].role'],
      [{ model: 'stories', input: 'hi', truncation: 'sometimes' }, 400, 'truncation'],
      [{ model: 'stories', input: 'hi', max_output_tokens: 0 }, 400, 'max_output_tokens'],
      [{ model: 'stories', input: 'hi', max_output_tokens: 100_000 }, 400, 'max_output_tokens'],
      [{ model: 'stories', input: 'hi', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, 'v'])) }, 400, 'metadata'],
      [{ model: 'stories', input: 'hi', background: true }, 400, 'background'],
      [{ model: 'stories', input: 'hi', include: ['reasoning.encrypted_content'] }, 400, 'include[0]'],
      [{ model: 'stories', input: 'hi', tools: [{ type: 'web_search' }] }, 400, 'tools[0].type'],
      [{ model: 'stories', input: [{ type: 'function_call_output', call_id: 'call_nowhere', output: '1' }] }, 400, 'input[0]'],
      [{ model: 'stories', input: 'hi', previous_response_id: 'resp_missing' }, 400, 'previous_response_id'],
      [{ model: 'nope', input: 'hi' }, 404, 'model'],
    ];
    for (const [body, status, param] of cases) {
      const answer = await callJson(server.url, 'POST', '/v1/responses', body);
      expect([JSON.stringify(body).slice(0, 80), answer.status]).toEqual([JSON.stringify(body).slice(0, 80), status]);
      expect(answer.body.error).toMatchObject({ param, type: 'invalid_request_error' });
      expect(typeof answer.body.error.message).toBe('string');
    }
    expect(await callJson(server.url, 'GET', '/v1/responses/resp_missing')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await callJson(server.url, 'POST', '/v1/responses/resp_missing/cancel')).toMatchObject({ status: 404 });
    const done = await server.client.responses.create({ model: 'stories', input: 'hi', max_output_tokens: 2 });
    expect(await callJson(server.url, 'POST', `/v1/responses/${done.id}/cancel`)).toMatchObject({ status: 400, body: { error: { param: 'response_id' } } });
  });
});

describe.skipIf(skip)('/v1/responses across tenants and quotas', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ responses: { tenantStorageBytes: 4000 } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('another tenant’s response is a 404 everywhere; a full quota is a 413 before anything runs', async () => {
    const post = (path: string, body: unknown, key?: string) => callJson(server.url, 'POST', path, body, key);
    const operator = (await post('/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key as string;
    await post('/v1/tenants', { id: 'bravo' }, operator);
    const bravo = (await post('/v1/keys', { tenant: 'bravo', name: 'bravo user' }, operator)).body.key as string;
    const mine = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: operator, maxRetries: 0 });
    const theirs = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: bravo, maxRetries: 0 });
    const created = await mine.responses.create({ model: 'stories', input: 'A frog', max_output_tokens: 4 });
    await expect(theirs.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
    await expect(theirs.responses.inputItems.list(created.id)).rejects.toMatchObject({ status: 404 });
    await expect(theirs.responses.delete(created.id)).rejects.toMatchObject({ status: 404 });
    await expect(theirs.responses.create({ model: 'stories', input: 'x', previous_response_id: created.id })).rejects.toMatchObject({
      status: 400,
      param: 'previous_response_id',
    });
    expect((await mine.responses.retrieve(created.id)).id).toBe(created.id);
    // The quota (4000 bytes) fills after a few stored responses; then a stored one is refused and an unstored one still runs.
    let refused: unknown;
    for (let index = 0; index < 10 && !refused; index += 1) {
      await mine.responses.create({ model: 'stories', input: 'A frog '.repeat(20), max_output_tokens: 8 }).catch((error: unknown) => (refused = error));
    }
    expect(refused).toMatchObject({ status: 413, code: 'storage_quota_exceeded', param: 'store' });
    expect((await mine.responses.create({ model: 'stories', input: 'A frog', max_output_tokens: 2, store: false })).status).toBe('incomplete');
    // Bravo's quota is its own.
    expect(storeOf(await theirs.responses.create({ model: 'stories', input: 'A frog', max_output_tokens: 2 }))).toBe(true);
  });
});
