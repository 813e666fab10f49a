/**
 * Answers recorded from the llama engine (test/fixtures) replayed through the gateway: whole
 * bodies come out byte for byte, streams event for event (Nimbus forwards, it does not rewrite),
 * tool calls reach the official client intact, and the recorded usage lands in the request log.
 */
import { Ajv } from 'ajv';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RequestLogEntry } from '../src/core/store.js';
import { loadFixtures, ssePayloads, startReplayUpstream, type Fixture } from './support/replay-upstream.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const fixtures = loadFixtures();
let upstream: Awaited<ReturnType<typeof startReplayUpstream>>;
let server: TestServer;

beforeAll(async () => {
  upstream = await startReplayUpstream(fixtures);
  server = await startTestServer({
    models: [],
    mqttUrl: 'off',
    providers: [{ id: 'replay', baseUrl: `${upstream.url}/v1` }],
    upstreamModels: [{ id: 'stories', provider: 'replay' }],
  });
});
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

function fixture(name: string): Fixture {
  return fixtures.get(name)!;
}

/** Sends a fixture's request (with changes) through the gateway without a port. */
function replay(name: string, changes: Record<string, unknown> = {}) {
  const recorded = fixture(name);
  return server.nimbus.app.inject({ method: 'POST', url: recorded.path, payload: { ...recorded.request, ...changes } });
}

async function lastLogRow(): Promise<RequestLogEntry> {
  await server.nimbus.store.flush();
  return (await server.nimbus.store.listRequests({ limit: 1 }))[0]!;
}

/** The usage a recorded answer carries (the last usage in it). */
function recordedUsage(recorded: Fixture): { prompt_tokens: number; completion_tokens: number } {
  const bodies = recorded.request.stream ? ssePayloads(recorded.body).filter((payload) => payload.includes('"usage":{')) : [recorded.body];
  return (JSON.parse(bodies[bodies.length - 1]!) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
}

describe('recorded llama answers through the gateway', () => {
  test('a whole chat answer comes out byte for byte, and its usage is logged', async () => {
    const response = await replay('chat');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.body).toBe(fixture('chat').body);
    const usage = recordedUsage(fixture('chat'));
    expect(await lastLogRow()).toMatchObject({
      status: 'ok',
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      usageEstimated: false,
      servedBy: 'replay',
    });
  });

  test('a streamed chat answer comes out event for event, usage chunk included when asked for', async () => {
    const response = await replay('chat-stream');
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(ssePayloads(response.body)).toEqual(ssePayloads(fixture('chat-stream').body));
    expect(response.body.endsWith('data: [DONE]\n\n')).toBe(true);
    const row = await lastLogRow();
    expect(row).toMatchObject({
      stream: true,
      finishReason: 'length',
      completionTokens: recordedUsage(fixture('chat-stream')).completion_tokens,
      usageEstimated: false,
    });
    expect(row.ttftMs).not.toBeNull();
  });

  test('without include_usage from the client, the same events minus the usage chunk; the log still has the usage', async () => {
    const response = await replay('chat-stream', { stream_options: undefined });
    const recorded = ssePayloads(fixture('chat-stream').body);
    expect(ssePayloads(response.body)).toEqual(recorded.filter((payload) => !payload.includes('"choices":[],"usage"')));
    expect(upstream.requests[upstream.requests.length - 1]!.stream_options).toEqual({ include_usage: true });
    expect((await lastLogRow()).completionTokens).toBe(recordedUsage(fixture('chat-stream')).completion_tokens);
  });

  test('a tool call, whole and streamed, reaches the official client intact', async () => {
    const request = fixture('chat-tool').request as { tools: Array<{ function: { parameters: object } }> };
    const validate = new Ajv().compile(request.tools[0]!.function.parameters);
    const whole = await server.client.chat.completions.create(fixture('chat-tool').request as unknown as ChatCompletionCreateParamsNonStreaming);
    expect(JSON.stringify(whole)).toBe(JSON.stringify(JSON.parse(fixture('chat-tool').body)));
    const call = whole.choices[0]!.message.tool_calls![0]!;
    expect(whole.choices[0]!.finish_reason).toBe('tool_calls');
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('set_lamp');
    expect(validate(JSON.parse(call.function.arguments))).toBe(true);

    const stream = await server.client.chat.completions.create(fixture('chat-tool-stream').request as unknown as ChatCompletionCreateParamsStreaming);
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += delta.function?.name ?? '';
        args += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('set_lamp');
    expect(validate(JSON.parse(args))).toBe(true);
    expect(finish).toBe('tool_calls');
    expect(await lastLogRow()).toMatchObject({ finishReason: 'tool_calls', usageEstimated: false });
  });

  test('a streamed text completion comes out event for event', async () => {
    const response = await replay('completion-stream');
    expect(ssePayloads(response.body)).toEqual(ssePayloads(fixture('completion-stream').body));
    const text = ssePayloads(response.body)
      .filter((payload) => payload.startsWith('{') && !payload.includes('"usage"'))
      .map((payload) => (JSON.parse(payload) as { choices: Array<{ text: string }> }).choices[0]!.text)
      .join('');
    expect(`Once upon a time${text}`).toMatch(/^Once upon a time, there was a little girl named Lily\./);
  });
});
