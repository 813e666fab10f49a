import { describe, expect, test } from 'vitest';
import { jsonSchemaToGrammarSchema } from './json-schema-grammar.js';

const convert = (schema: unknown) => jsonSchemaToGrammarSchema(schema, 'p');

describe('jsonSchemaToGrammarSchema', () => {
  test.each([
    [{ type: 'string' }, { type: 'string' }],
    [
      { type: 'boolean', description: 'on?' },
      { type: 'boolean', description: 'on?' },
    ],
    [{ enum: ['a', 1, null] }, { enum: ['a', 1, null] }],
    [{ const: 'x' }, { const: 'x' }],
    [{ type: 'integer', minimum: 1, maximum: 3 }, { enum: [1, 2, 3] }],
    [{ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 3 }, { enum: [1, 2] }],
    [
      { type: 'string', format: 'date' },
      { type: 'string', format: 'date' },
    ],
    [
      { type: 'string', minLength: 1, maxLength: 5 },
      { type: 'string', minLength: 1, maxLength: 5 },
    ],
    [{ type: ['number', 'null'] }, { type: ['number', 'null'] }],
    [{ type: 'number', nullable: true }, { type: ['number', 'null'] }],
    [
      { type: 'array', items: { type: 'number' }, maxItems: 2 },
      { type: 'array', items: { type: 'number' }, maxItems: 2 },
    ],
    [
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'ghost'] },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false, required: ['a'] },
    ],
    [{ anyOf: [{ type: 'string' }, { type: 'number' }] }, { oneOf: [{ type: 'string' }, { type: 'number' }] }],
    [{ allOf: [{ type: 'string' }] }, { type: 'string' }],
    [{ $ref: '#/definitions/x' }, { $ref: '#/$defs/x' }],
  ])('%j converts', (input, expected) => {
    expect(convert(input)).toEqual(expected);
  });

  test('an object with $defs keeps them', () => {
    const result = convert({ type: 'object', properties: { a: { $ref: '#/$defs/A' } }, $defs: { A: { type: 'integer' } } });
    expect(result).toMatchObject({ $defs: { A: { type: 'integer' } }, properties: { a: { $ref: '#/$defs/A' } } });
  });

  test('an object without properties but with additionalProperties schema keeps it', () => {
    expect(convert({ type: 'object', additionalProperties: { type: 'number' } })).toMatchObject({ additionalProperties: { type: 'number' } });
  });

  test('a schema without a type accepts any JSON value', () => {
    expect(convert({})).toHaveProperty('oneOf');
    expect(convert(true)).toHaveProperty('oneOf');
  });

  test.each([
    [{ type: 'string', pattern: '^a$' }, 'pattern'],
    [{ type: 'string', format: 'email' }, "format 'email'"],
    [{ type: 'number', minimum: 0 }, 'a number range'],
    [{ type: 'integer', minimum: 0 }, 'needs both a minimum and a maximum'],
    [{ type: 'integer', minimum: 0, maximum: 100000 }, 'at most 1000 apart'],
    [{ type: 'integer', minimum: 5, maximum: 1 }, 'empty'],
    [{ type: 'banana' }, 'unknown type'],
    [{ not: { type: 'string' } }, "'not'"],
    [{ allOf: [{ type: 'string' }, { maxLength: 3 }] }, 'allOf'],
    [{ $ref: 'https://example.com/x.json' }, 'local references'],
    [{ enum: [] }, 'non-empty'],
    [{ enum: [{ a: 1 }] }, 'only strings'],
    [false, 'matches nothing'],
    [{ type: 'object', properties: { deep: { type: 'array', items: { type: 'string', pattern: 'x' } } } }, '/properties/deep/items/pattern'],
    [{ type: 'string', oneOf: [{ maxLength: 1 }] }, 'beside other keywords'],
    [{ type: 'array', uniqueItems: true }, 'uniqueItems'],
  ])('%j is refused, naming %s', (input, fragment) => {
    expect(() => convert(input)).toThrowError(expect.objectContaining({ code: 'invalid_schema', param: 'p', message: expect.stringContaining(fragment) }));
  });
});
