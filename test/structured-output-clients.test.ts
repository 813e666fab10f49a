/**
 * Structured output as the TypeScript clients send it, unmodified (issue 20, item 1): zod 4's
 * `.int()` becomes `minimum: -(2^53-1), maximum: 2^53-1`, one-sided bounds come from `.min()`,
 * `.positive()` and `.nonnegative()`, and every client parses the answer with its own zod schema,
 * so an integer that comes back as `-0.001` or `1e4000`, or a value out of its range, fails here.
 * The model is stories260K: it has no judgement, so only grammar-constrained paths are used
 * (response_format json_schema and forced tool calls).
 */
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
