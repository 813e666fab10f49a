/**
 * The Vercel AI SDK's default OpenAI model, `createOpenAI({baseURL, apiKey})(id)`, which speaks
 * the Responses API, against a real `nimbus serve` process with stories260K, unmodified:
 * generateText, streamText, and a function tool made with the SDK's `tool()` (forced with
 * `toolChoice`, since a 260K model has no judgement; the grammar makes its call valid JSON).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('the AI SDK on /v1/responses', () => {
  let server: NimbusProcess;
  let openai: ReturnType<typeof createOpenAI>;
  /** The bodies the SDK sent, to see which API and which items it used. */
  const sent: Array<{ url: string; body: Record<string, unknown> }> = [];
  beforeAll(async () => {
    server = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2']);
    await waitReady(server.url);
    openai = createOpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: 'local',
      fetch: async (url, init) => {
        sent.push({ url: String(url), body: JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown> });
        return fetch(url, init);
      },
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    killNimbusProcesses();
  });

  test('generateText: the default model is the Responses API; the answer, its usage and its response id', async () => {
    const result = await generateText({ model: openai('stories260K'), prompt: 'Once upon a time', maxOutputTokens: 30, temperature: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toMatch(/^(stop|length)$/);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    const id = result.response.id;
    expect(id).toMatch(/^resp_/);
    expect(sent.at(-1)!.url).toBe(`${server.url}/v1/responses`);
    const stored = (await (await fetch(`${server.url}/v1/responses/${id}`)).json()) as { output: Array<{ content: Array<{ text: string }> }> };
    expect(stored.output[0]!.content[0]!.text).toBe(result.text);
  });

  test('a conversation passed back whole: the SDK refers to the earlier answer by its item id (store is on), and Nimbus finds it', async () => {
    const first = await generateText({ model: openai('stories260K'), prompt: 'Once upon a time', maxOutputTokens: 20, temperature: 0 });
    const second = await generateText({
      model: openai('stories260K'),
      messages: [{ role: 'user', content: 'Once upon a time' }, ...first.response.messages, { role: 'user', content: 'And then?' }],
      maxOutputTokens: 20,
      temperature: 0,
    });
    expect(second.text.length).toBeGreaterThan(0);
    const stored = (await (await fetch(`${server.url}/v1/responses/${first.response.id}`)).json()) as { output: Array<{ id: string }> };
    expect((sent.at(-1)!.body.input as unknown[])[1]).toEqual({ type: 'item_reference', id: stored.output[0]!.id });
    const items = (await (await fetch(`${server.url}/v1/responses/${second.response.id}/input_items?order=asc`)).json()) as {
      data: Array<{ role: string; content: Array<{ text: string }> }>;
    };
    expect(items.data.map((item) => item.role)).toEqual(['user', 'assistant', 'user']);
    expect(items.data[1]!.content[0]!.text).toBe(first.text);
  });

  test('streamText: the text arrives in parts and adds up to the stored answer', async () => {
    const result = streamText({ model: openai('stories260K'), prompt: 'Once upon a time', maxOutputTokens: 30, temperature: 0 });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.length).toBeGreaterThan(1);
    const text = await result.text;
    expect(parts.join('')).toBe(text);
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    const id = (await result.response).id;
    const stored = (await (await fetch(`${server.url}/v1/responses/${id}`)).json()) as { status: string; output: Array<{ content: Array<{ text: string }> }> };
    expect(stored.status).toMatch(/^(completed|incomplete)$/);
    expect(stored.output[0]!.content[0]!.text).toBe(text);
  });

  test('a function tool made with tool(): the call comes back, the SDK runs it, and its result continues the conversation', async () => {
    const calls: unknown[] = [];
    const weather = tool({
      description: 'The weather in a city.',
      inputSchema: z.object({ city: z.string().max(12) }),
      execute: async (input) => {
        calls.push(input);
        return { sky: 'clear' };
      },
    });
    const result = await generateText({
      model: openai('stories260K'),
      prompt: 'Weather?',
      tools: { weather },
      toolChoice: { type: 'tool', toolName: 'weather' },
      maxOutputTokens: 60,
      temperature: 0,
    });
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({ toolName: 'weather', input: { city: expect.any(String) } });
    expect(calls).toEqual([result.toolCalls[0]!.input]);
    expect(result.toolResults[0]).toMatchObject({ toolName: 'weather', output: { sky: 'clear' } });
    // The SDK sends the result back in a second step (stopWhen), as a function_call_output.
    const followed = await generateText({
      model: openai('stories260K'),
      messages: [{ role: 'user', content: 'Weather?' }, ...result.response.messages],
      tools: { weather },
      toolChoice: 'none',
      maxOutputTokens: 20,
      temperature: 0,
    });
    expect(followed.finishReason).toMatch(/^(stop|length)$/);
    const input = sent.at(-1)!.body.input as Array<{ type?: string; call_id?: string; output?: string }>;
    expect(input.find((item) => item.type === 'function_call_output')).toMatchObject({
      call_id: result.toolCalls[0]!.toolCallId,
      output: JSON.stringify({ sky: 'clear' }),
    });
  });
});
