/**
 * Structured output as the TypeScript clients send it, unmodified (issue 20, item 1): zod 4's
 * `.int()` becomes `minimum: -(2^53-1), maximum: 2^53-1`, one-sided bounds come from `.min()`,
 * `.positive()` and `.nonnegative()`, and every client parses the answer with its own zod schema,
 * so an integer that comes back as `-0.001` or `1e4000`, or a value out of its range, fails here.
 * The model is stories260K: it has no judgement, so only grammar-constrained paths are used
 * (response_format json_schema and forced tool calls).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, streamObject, tool, type LanguageModel } from 'ai';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

/** Integers two-sided, unbounded (the safe bounds), one-sided; numbers above and at least zero. */
export const Person = z.object({
  name: z.string().max(20),
  age: z.number().int().min(18).max(120),
  visits: z.number().int(),
  rooms: z.number().int().nonnegative(),
  debt: z.number().int().max(-1),
  height: z.number().positive(),
  savings: z.number().nonnegative(),
});

/** Kept small: the forced call's instructions carry the schema, and stories260K has 512 tokens of context. */
export const Booking = z.object({
  guests: z.number().int().min(1).max(12),
  nights: z.number().int().positive(),
  year: z.number().int().min(2025),
});

/** The checks zod's own types cannot say: safe integers, never -0, finite numbers. */
export function expectSoundNumbers(value: Record<string, unknown>): void {
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== 'number') continue;
    expect(Number.isFinite(field), key).toBe(true);
    expect(Object.is(field, -0), key).toBe(false);
  }
  for (const key of ['age', 'visits', 'rooms', 'debt', 'guests', 'nights', 'year']) {
    if (key in value) expect(Number.isSafeInteger(value[key]), `${key}: ${String(value[key])}`).toBe(true);
  }
}

const messages = [{ role: 'user' as const, content: 'Go.' }];

describe.skipIf(skip)('structured output through the official openai client', () => {
  let server: TestServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startTestServer({ slots: 2 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local', maxRetries: 0 });
  });
  afterAll(async () => server?.stop());

  test('chat.completions.parse with zodResponseFormat: .int(), .min(), .max(), .positive() and .nonnegative() hold', async () => {
    for (let run = 0; run < 6; run += 1) {
      const completion = await client.chat.completions.parse({
        model: 'stories',
        messages,
        temperature: 1,
        max_tokens: 200,
        response_format: zodResponseFormat(Person, 'person'),
      });
      const message = completion.choices[0]!.message;
      expect(completion.choices[0]!.finish_reason).toBe('stop');
      expect(message.parsed, message.content ?? '').not.toBeNull();
      expect(Person.safeParse(message.parsed).success).toBe(true);
      expectSoundNumbers(message.parsed!);
    }
  });

  test('chat.completions.parse with a forced zodFunction call: parsed_arguments hold the ranges', async () => {
    for (let run = 0; run < 6; run += 1) {
      const completion = await client.chat.completions.parse({
        model: 'stories',
        messages,
        temperature: 1,
        max_tokens: 160,
        tools: [zodFunction({ name: 'book', parameters: Booking })],
        tool_choice: { type: 'function', function: { name: 'book' } },
      });
      const call = completion.choices[0]!.message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      if (call?.type !== 'function') return;
      expect(Booking.safeParse(call.function.parsed_arguments).success, call.function.arguments).toBe(true);
      expectSoundNumbers(call.function.parsed_arguments as Record<string, unknown>);
    }
  });
});

describe.skipIf(skip)('structured output through the Vercel AI SDK', () => {
  let server: TestServer;
  const models: Array<[string, () => LanguageModel]> = [];
  beforeAll(async () => {
    server = await startTestServer({ slots: 2 });
  });
  afterAll(async () => server?.stop());
  // Declared here, made once the server's address is known. `supportsStructuredOutputs` is the
  // provider's documented switch to send json_schema to a server that supports it.
  models.push(
    [
      '@ai-sdk/openai-compatible',
      () => createOpenAICompatible({ name: 'nimbus', baseURL: `${server.url}/v1`, apiKey: 'local', supportsStructuredOutputs: true })('stories'),
    ],
    ['@ai-sdk/openai createOpenAI().chat()', () => createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local' }).chat('stories')],
  );

  test.each(models)('%s: generateObject and streamObject hold the ranges', async (_name, model) => {
    for (let run = 0; run < 3; run += 1) {
      const { object } = await generateObject({ model: model(), schema: Person, prompt: 'Go.', temperature: 1, maxOutputTokens: 200, maxRetries: 0 });
      expect(Person.safeParse(object).success).toBe(true);
      expectSoundNumbers(object);
      const streamed = streamObject({ model: model(), schema: Person, prompt: 'Go.', temperature: 1, maxOutputTokens: 200, maxRetries: 0 });
      let partials = 0;
      for await (const partial of streamed.partialObjectStream) partials += partial ? 1 : 0;
      expect(partials).toBeGreaterThan(0);
      const final = await streamed.object;
      expect(Person.safeParse(final).success).toBe(true);
      expectSoundNumbers(final);
    }
  });

  test.each(models)('%s: a forced tool call with integer parameters', async (_name, model) => {
    for (let run = 0; run < 3; run += 1) {
      const result = await generateText({
        model: model(),
        prompt: 'Go.',
        temperature: 1,
        maxOutputTokens: 160,
        maxRetries: 0,
        tools: { book: tool({ description: 'Book a room', inputSchema: Booking }) },
        toolChoice: { type: 'tool', toolName: 'book' },
      });
      expect(result.toolCalls).toHaveLength(1);
      const call = result.toolCalls[0]!;
      expect(call.toolName).toBe('book');
      expect(Booking.safeParse(call.input).success, JSON.stringify(call.input)).toBe(true);
      expectSoundNumbers(call.input as Record<string, unknown>);
    }
  });
});

describe.skipIf(skip)('structured output through LangChain', () => {
  let server: TestServer;
  let model: ChatOpenAI;
  beforeAll(async () => {
    server = await startTestServer({ slots: 2 });
    model = new ChatOpenAI({
      model: 'stories',
      apiKey: 'local',
      configuration: { baseURL: `${server.url}/v1` },
      temperature: 1,
      maxTokens: 200,
      maxRetries: 0,
    });
  });
  afterAll(async () => server?.stop());

  test('withStructuredOutput with method jsonSchema', async () => {
    const structured = model.withStructuredOutput(Person, { method: 'jsonSchema', name: 'person' });
    for (let run = 0; run < 3; run += 1) {
      const value = await structured.invoke('Go.');
      expect(Person.safeParse(value).success).toBe(true);
      expectSoundNumbers(value);
    }
  });

  test('withStructuredOutput with method functionCalling', async () => {
    const structured = model.withStructuredOutput(Booking, { method: 'functionCalling', name: 'book' });
    for (let run = 0; run < 3; run += 1) {
      const value = await structured.invoke('Go.');
      expect(Booking.safeParse(value).success).toBe(true);
      expectSoundNumbers(value);
    }
  });
});
