/**
 * `/v1/responses` on a model Nimbus fronts as an upstream (another Nimbus serving stories260K over
 * the OpenAI API): the same route chat uses, pass-through turns read back into text and calls,
 * streamed and whole, continued with previous_response_id, a forced function call held by the
 * upstream's grammar.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('/v1/responses over an upstream model', () => {
  let upstream: TestServer;
  let gateway: TestServer;
  beforeAll(async () => {
    upstream = await startTestServer({ mqttUrl: 'off' });
    gateway = await startTestServer({
      mqttUrl: 'off',
      models: [],
      providers: [{ id: 'nimbus-b', baseUrl: `${upstream.url}/v1` }],
      upstreamModels: [{ id: 'remote-stories', provider: 'nimbus-b', upstreamModel: 'stories' }],
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.stop();
  });

  test('whole and streamed answers carry the upstream’s text and usage; a continuation works', async () => {
    const whole = await gateway.client.responses.create({ model: 'remote-stories', input: 'Once upon a time', max_output_tokens: 12, temperature: 0 });
    expect(whole.output_text.length).toBeGreaterThan(5);
    expect(whole.usage!.output_tokens).toBe(12);
    expect(whole.status).toBe('incomplete');
    const stream = await gateway.client.responses.create({
      model: 'remote-stories',
      input: 'Once upon a time',
      max_output_tokens: 12,
      temperature: 0,
      stream: true,
    });
    let deltas = '';
    let last: { status: string; usage: { output_tokens: number } } | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas += event.delta;
      if (event.type === 'response.incomplete') last = event.response as never;
    }
    expect(deltas.length).toBeGreaterThan(5);
    expect(last).toMatchObject({ status: 'incomplete', usage: { output_tokens: 12 } });
    const next = await gateway.client.responses.create({ model: 'remote-stories', previous_response_id: whole.id, input: 'Then?', max_output_tokens: 4 });
    expect(next.usage!.input_tokens).toBeGreaterThan(whole.usage!.input_tokens);
  });

  test('a forced function call through the upstream comes back as a function_call item with valid arguments', async () => {
    const parameters = { type: 'object', properties: { name: { type: 'string', maxLength: 10 } }, required: ['name'], additionalProperties: false };
    for (const stream of [false, true]) {
      const body = {
        model: 'remote-stories',
        input: 'Greet.',
        tools: [{ type: 'function' as const, name: 'greet', parameters, strict: true }],
        tool_choice: 'required' as const,
      };
      let output: Array<{ type: string; name?: string; arguments?: string }>;
      if (stream) {
        const events = await gateway.client.responses.create({ ...body, stream: true });
        let final: { output: typeof output } | undefined;
        for await (const event of events) if (event.type === 'response.completed') final = event.response as never;
        output = final!.output;
      } else output = (await gateway.client.responses.create(body)).output as typeof output;
      expect(output.map((item) => [item.type, item.name])).toEqual([['function_call', 'greet']]);
      expect(new Ajv().validate(parameters, JSON.parse(output[0]!.arguments!))).toBe(true);
    }
  });
});
