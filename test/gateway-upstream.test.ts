/**
 * The gateway in front of a real upstream: a second Nimbus process serving stories260K with the
 * llama engine. The known answer comes through unchanged, streamed and not; chat, tool calls and
 * embeddings match what the upstream answers directly; /v1/models lists local and upstream
 * models together; an alias and a fallback route to it. Needs `npm run build` (dist/).
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { knownAnswer, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
const startsWithKnownAnswer = new RegExp(`^${knownAnswer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

describe.skipIf(skip)('gateway in front of a real Nimbus upstream (stories260K)', () => {
  let upstream: NimbusProcess;
  let direct: OpenAI;
  let gateway: TestServer;

  beforeAll(async () => {
    upstream = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2']);
    await waitReady(upstream.url);
    direct = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    process.env.NIMBUS_TEST_UPSTREAM_KEY = 'sk-upstream-test-key-0123456789';
    gateway = await startTestServer({
      mqttUrl: 'off',
      providers: [
        { id: 'nimbus-b', baseUrl: `${upstream.url}/v1`, apiKeyEnv: 'NIMBUS_TEST_UPSTREAM_KEY' },
        { id: 'nowhere', baseUrl: 'http://127.0.0.1:9/v1', connectTimeoutMs: 500 },
      ],
      upstreamModels: [
        { id: 'remote-stories', provider: 'nimbus-b', upstreamModel: 'stories260K' },
        { id: 'flaky', provider: 'nowhere', upstreamModel: 'stories260K' },
      ],
      aliases: { 'gpt-4o-mini': 'remote-stories' },
      fallbacks: { flaky: ['remote-stories'] },
      retry: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 2 },
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.stop();
  });

  test('/v1/models lists local and upstream models together, with where each is served', async () => {
    const models = (await gateway.client.models.list()).data as unknown as Array<{
      id: string;
      nimbus: { engine: string; served_by?: string[]; alias_of?: string };
    }>;
    const byId = new Map(models.map((model) => [model.id, model]));
    expect(byId.get('stories')?.nimbus).toMatchObject({ engine: 'llama', served_by: [storiesPath] });
    expect(byId.get('remote-stories')?.nimbus).toMatchObject({ engine: 'openai', served_by: [`nimbus-b (${upstream.url}/v1, as stories260K)`] });
    expect(byId.get('gpt-4o-mini')?.nimbus).toMatchObject({ engine: 'openai', alias_of: 'remote-stories' });
    expect((await gateway.client.models.retrieve('gpt-4o-mini')).id).toBe('gpt-4o-mini');
  });

  test('the known answer comes through unchanged, whole and streamed, as the upstream gives it', async () => {
    const request = { prompt: 'Once upon a time', temperature: 0, max_tokens: 40 };
    const upstreamText = (await direct.completions.create({ model: 'stories260K', ...request })).choices[0]!.text;
    const whole = await gateway.client.completions.create({ model: 'remote-stories', ...request });
    expect(whole.choices[0]!.text).toBe(upstreamText);
    expect(`Once upon a time${whole.choices[0]!.text}`).toMatch(startsWithKnownAnswer);
    const stream = await gateway.client.completions.create({ model: 'remote-stories', ...request, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
    expect(streamed).toBe(upstreamText);
  });

  test('chat through an alias: stream and whole answer agree, with the upstream usage, logged with route and replica', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about a dog.' }];
    const expected = await direct.chat.completions.create({ model: 'stories260K', messages, temperature: 0, max_tokens: 32 });
    const whole = await gateway.client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0, max_tokens: 32 });
    expect(whole.choices[0]!.message.content).toBe(expected.choices[0]!.message.content);
    expect(whole.usage).toMatchObject({ prompt_tokens: expected.usage!.prompt_tokens, completion_tokens: 32 });
    const stream = await gateway.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      temperature: 0,
      max_tokens: 32,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(expected.choices[0]!.message.content);
    expect(usage).toMatchObject({ prompt_tokens: expected.usage!.prompt_tokens, completion_tokens: 32 });
    await gateway.nimbus.store.flush();
    const [row] = await gateway.nimbus.store.listRequests({ limit: 1 });
    expect(row).toMatchObject({
      model: 'remote-stories',
      requestedModel: 'gpt-4o-mini',
      status: 'ok',
      servedBy: 'nimbus-b',
      route: 'remote-stories@nimbus-b',
      completionTokens: 32,
      usageEstimated: false,
    });
  });

  test('a forced tool call comes through with arguments that validate, whole and streamed', async () => {
    const tool = {
      type: 'function' as const,
      function: {
        name: 'set_lamp',
        parameters: { type: 'object', properties: { room: { type: 'string', enum: ['kitchen', 'hall'] }, on: { type: 'boolean' } }, required: ['room', 'on'] },
      },
    };
    const validate = new Ajv().compile(tool.function.parameters);
    const request = {
      model: 'remote-stories',
      messages: [{ role: 'user' as const, content: 'Lamp on.' }],
      tools: [tool],
      tool_choice: 'required' as const,
      temperature: 0,
      max_tokens: 100,
    };
    const whole = await gateway.client.chat.completions.create(request);
    const call = whole.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(validate(JSON.parse(call.function.arguments))).toBe(true);
    const stream = await gateway.client.chat.completions.create({ ...request, stream: true });
    let args = '';
    for await (const chunk of stream) for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) args += delta.function?.arguments ?? '';
    expect(args).toBe(call.function.arguments);
  });

  test('embeddings through the gateway equal the upstream own', async () => {
    const [mine, theirs] = await Promise.all([
      gateway.client.embeddings.create({ model: 'remote-stories', input: ['a little cat', 'a big dog'], encoding_format: 'float' }),
      direct.embeddings.create({ model: 'stories260K', input: ['a little cat', 'a big dog'], encoding_format: 'float' }),
    ]);
    expect(mine.data.map((entry) => entry.embedding)).toEqual(theirs.data.map((entry) => entry.embedding));
    expect(mine.usage.prompt_tokens).toBe(theirs.usage.prompt_tokens);
  });

  test('a model whose only upstream is down falls back to the real one; headers and log show the chain', async () => {
    const response = await fetch(`${gateway.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'flaky', prompt: 'Once upon a time', temperature: 0, max_tokens: 40 }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-nimbus-model')).toBe('remote-stories');
    const route = 'flaky@nowhere (upstream_error), flaky@nowhere (upstream_error), remote-stories@nimbus-b';
    expect(response.headers.get('x-nimbus-route')).toBe(route);
    expect(`Once upon a time${((await response.json()) as { choices: Array<{ text: string }> }).choices[0]!.text}`).toMatch(startsWithKnownAnswer);
    await gateway.nimbus.store.flush();
    expect((await gateway.nimbus.store.listRequests({ limit: 1 }))[0]).toMatchObject({
      model: 'remote-stories',
      requestedModel: 'flaky',
      route,
      servedBy: 'nimbus-b',
    });
  });
});
