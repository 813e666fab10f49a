/**
 * Number ranges a grammar cannot hold are checked after generation and sampled again (issue 20,
 * item 1): every answer satisfies its schema, streamed or not, and a range no output can reach is
 * refused with 422 `output_validation_failed` after the tries, the tokens they used in the ledger.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

const schema = {
  type: 'object',
  properties: {
    // Floats: a range (checked after), and one bound away from zero (sign by grammar, bound checked after).
    ratio: { type: 'number', minimum: 0.5, maximum: 900 },
    weight: { type: 'number', minimum: 2 },
    // Integers of any width: by grammar.
    big: { type: 'integer', minimum: 1000, maximum: 5_000_000 },
  },
  required: ['ratio', 'weight', 'big'],
  additionalProperties: false,
};

describe.skipIf(skip)('number ranges checked after generation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ slots: 2 });
  });
  afterAll(async () => server?.stop());

  test('every answer satisfies float and integer ranges, whole and streamed', async () => {
    const validate = new Ajv().compile(schema);
    for (let run = 0; run < 8; run += 1) {
      const request = {
        model: 'stories',
        messages: [{ role: 'user' as const, content: 'Numbers.' }],
        temperature: 1,
        max_tokens: 400,
        response_format: { type: 'json_schema' as const, json_schema: { name: 'numbers', schema } },
      };
      let content: string;
      if (run % 2 === 0) {
        const completion = await server.client.chat.completions.create(request);
        expect(completion.choices[0]!.finish_reason).toBe('stop');
        content = completion.choices[0]!.message.content!;
      } else {
        // Held until checked: the checked answer arrives whole, never a rejected one in pieces.
        content = '';
        let finish: string | null = null;
        for await (const chunk of await server.client.chat.completions.create({ ...request, stream: true })) {
          content += chunk.choices[0]?.delta.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        expect(finish).toBe('stop');
      }
      const value = JSON.parse(content) as Record<string, number>;
      expect(validate(value), `${content} ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  test('a range no output reaches is refused with 422 output_validation_failed, and the tries are counted', async () => {
    const impossible = { type: 'object', properties: { x: { type: 'number', minimum: 1e300 } }, required: ['x'], additionalProperties: false };
    const attempt = server.client.chat.completions.create({
      model: 'stories',
      messages: [{ role: 'user', content: 'A huge number.' }],
      temperature: 0,
      max_tokens: 200,
      response_format: { type: 'json_schema', json_schema: { name: 'huge', schema: impossible } },
    });
    await expect(attempt).rejects.toMatchObject({
      status: 422,
      code: 'output_validation_failed',
      param: 'response_format.json_schema.schema',
      message: expect.stringContaining('/x must be >= 1e+300'),
    });
    await server.nimbus.store.flush();
    const [row] = await server.nimbus.store.listRequests({ limit: 1 });
    expect(row).toMatchObject({ httpStatus: 422, errorCode: 'output_validation_failed', status: 'error' });
    // Four tries of a few tokens each, all counted.
    expect(row!.completionTokens).toBeGreaterThan(8);
  });

  test('integers never come out as fractions, exponents or -0, in any width', async () => {
    const wide = {
      type: 'object',
      properties: {
        a: { type: 'integer' },
        b: { type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 },
        c: { type: 'integer', maximum: -10 },
      },
      required: ['a', 'b', 'c'],
      additionalProperties: false,
    };
    for (let run = 0; run < 10; run += 1) {
      const completion = await server.client.chat.completions.create({
        model: 'stories',
        messages: [{ role: 'user', content: 'Integers.' }],
        temperature: 1.5,
        max_tokens: 200,
        response_format: { type: 'json_schema', json_schema: { name: 'ints', schema: wide } },
      });
      const content = completion.choices[0]!.message.content!;
      expect(content).not.toMatch(/[.eE]|-0\b/);
      const value = JSON.parse(content) as Record<string, number>;
      expect(Object.keys(value).sort(), content).toEqual(['a', 'b', 'c']);
      for (const field of Object.values(value)) expect(Number.isSafeInteger(field), content).toBe(true);
      expect(value.c).toBeLessThanOrEqual(-10);
    }
  });
});
