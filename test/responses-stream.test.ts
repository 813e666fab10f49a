/**
 * Streamed `/v1/responses` with the official `openai` client against a real server running the
 * real llama.cpp engine on stories260K: OpenAI's event names in order, each with its
 * `sequence_number`, no `[DONE]`; the same text as the stored response; json_schema and a forced
 * function call held by grammar; cancel mid-stream.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('streamed /v1/responses (stories260K)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('events come in OpenAI’s order with consecutive sequence numbers, and join to the stored response', async () => {
    const stream = await server.client.responses.create({ model: 'stories', input: 'Once upon a time', max_output_tokens: 16, temperature: 0, stream: true });
    const events: Array<{ type: string; sequence_number: number; [field: string]: unknown }> = [];
    for await (const event of stream) events.push(event as unknown as (typeof events)[number]);
    const types = events.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete']);
    expect(types.filter((type) => type === 'response.output_text.delta').length).toBeGreaterThan(3);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const deltas = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta as string] : [])).join('');
    const done = events.find((event) => event.type === 'response.output_text.done')!;
    expect(done.text).toBe(deltas);
    const last = events.at(-1)!.response as { id: string; status: string; usage: { output_tokens: number }; incomplete_details: unknown };
    expect(last).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 16 } });
    const stored = await server.client.responses.retrieve(last.id);
    expect(stored.output_text).toBe(deltas);
    expect((events[0]!.response as { status: string }).status).toBe('in_progress');
  });

  test('the wire carries event: lines matching each data type, and no [DONE]', async () => {
    const answer = await fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories', input: 'Lily', max_output_tokens: 4, stream: true }),
    });
    expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const id = answer.headers.get('x-request-id');
    const text = await answer.text();
    expect(text).not.toContain('[DONE]');
    const frames = text.trim().split('\n\n');
    for (const frame of frames) {
      const [eventLine, dataLine] = frame.split('\n');
      const data = JSON.parse(dataLine!.replace(/^data: /, '')) as { type: string };
      expect(eventLine).toBe(`event: ${data.type}`);
    }
    expect(JSON.parse(frames[0]!.split('\n')[1]!.slice(6)).response.id).toBe(id);
  });

  test('responses.stream() gives the final response; json_schema streamed still parses', async () => {
    const schema = {
      type: 'object',
      properties: { color: { type: 'string', enum: ['red', 'blue'] }, count: { type: 'integer', minimum: 0, maximum: 5 } },
      required: ['color', 'count'],
      additionalProperties: false,
    };
    const runner = server.client.responses.stream({
      model: 'stories',
      input: 'Pick.',
      text: { format: { type: 'json_schema', name: 'pick', schema, strict: true } },
      max_output_tokens: 40,
    });
    let deltas = '';
    runner.on('response.output_text.delta', (event) => (deltas += event.delta));
    const final = await runner.finalResponse();
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(deltas);
    expect(new Ajv().validate(schema, JSON.parse(final.output_text))).toBe(true);
  });

  test('a forced function call streams its arguments, held by grammar to the function’s schema', async () => {
    const parameters = {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 20 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'],
      additionalProperties: false,
    };
    const stream = await server.client.responses.create({
      model: 'stories',
      input: 'Weather in Paris?',
      tools: [{ type: 'function', name: 'forecast', parameters, strict: true }],
      tool_choice: 'required',
      stream: true,
    });
    const events: Array<{ type: string; [field: string]: unknown }> = [];
    for await (const event of stream) events.push(event as unknown as (typeof events)[number]);
    const types = events.map((event) => event.type);
    expect(types).toContain('response.function_call_arguments.delta');
    const argumentsDone = events.find((event) => event.type === 'response.function_call_arguments.done')!;
    expect(argumentsDone.name).toBe('forecast');
    expect(new Ajv().validate(parameters, JSON.parse(argumentsDone.arguments as string))).toBe(true);
    const final = events.at(-1)!;
    expect(final.type).toBe('response.completed');
    const output = (final.response as { output: Array<{ type: string; call_id: string; arguments: string }> }).output;
    expect(output.map((item) => item.type)).toEqual(['function_call']);
    expect(output[0]!.arguments).toBe(argumentsDone.arguments);
  });

  test('cancel stops a running response: it ends cancelled, stored as such, and its ledger row says so', async () => {
    const stream = await server.client.responses.create({ model: 'stories', input: 'Once upon a time', max_output_tokens: 400, stream: true });
    let id: string | undefined;
    let cancelled: { status: string } | undefined;
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.created') id = event.response.id;
      if (event.type === 'response.output_text.delta' && !cancelled) {
        const answer = await fetch(`${server.url}/v1/responses/${id}/cancel`, { method: 'POST' });
        cancelled = (await answer.json()) as { status: string };
      }
    }
    expect(cancelled?.status).toBe('cancelled');
    expect(types.at(-1)).toBe('response.failed');
    const stored = await server.client.responses.retrieve(id!);
    expect(stored.status).toBe('cancelled');
    expect(stored.usage!.output_tokens).toBeLessThan(400);
    await server.nimbus.store.flush();
    expect((await server.nimbus.store.listRequests()).find((row) => row.id === id)).toMatchObject({ status: 'cancelled', kind: 'response' });
  });
});
