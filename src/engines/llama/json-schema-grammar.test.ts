import { describe, expect, test } from 'vitest';
import { jsonGrammarText, jsonSchemaToGrammar } from './json-schema-grammar.js';
import { decimal, integerRange, maxSafe, toGbnf } from './number-grammar.js';

const convert = (schema: unknown) => jsonSchemaToGrammar(schema, 'p').schema;
const number0 = { const: 'nimbus-number-0' };

describe('jsonSchemaToGrammar', () => {
  test.each([
    [{ type: 'string' }, { type: 'string' }],
    [
      { type: 'boolean', description: 'on?' },
      { type: 'boolean', description: 'on?' },
    ],
    [{ enum: ['a', 1, null] }, { enum: ['a', 1, null] }],
    [{ const: 'x' }, { const: 'x' }],
    [{ type: 'integer', minimum: 1, maximum: 3 }, number0],
    [
      { type: 'string', format: 'date' },
      { type: 'string', format: 'date' },
    ],
    [
      { type: 'string', minLength: 1, maxLength: 5 },
      { type: 'string', minLength: 1, maxLength: 5 },
    ],
    [{ type: ['boolean', 'null'] }, { type: ['boolean', 'null'] }],
    [{ type: ['number', 'null'] }, { oneOf: [number0, { type: 'null' }] }],
    [{ type: 'number', nullable: true }, { oneOf: [number0, { type: 'null' }] }],
    [
      { type: 'array', items: { type: 'number' }, maxItems: 2 },
      { type: 'array', items: number0, maxItems: 2 },
    ],
    [
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'ghost'] },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false, required: ['a'] },
    ],
    [{ anyOf: [{ type: 'string' }, { type: 'number' }] }, { oneOf: [{ type: 'string' }, number0] }],
    [{ allOf: [{ type: 'string' }] }, { type: 'string' }],
    [{ $ref: '#/definitions/x' }, { $ref: '#/$defs/x' }],
  ])('%j converts', (input, expected) => {
    expect(convert(input)).toEqual(expected);
  });

  test('an object with $defs keeps them', () => {
    const result = convert({ type: 'object', properties: { a: { $ref: '#/$defs/A' } }, $defs: { A: { type: 'integer' } } });
    expect(result).toMatchObject({ $defs: { A: number0 }, properties: { a: { $ref: '#/$defs/A' } } });
  });

  test('an object without properties but with additionalProperties schema keeps it', () => {
    expect(convert({ type: 'object', additionalProperties: { type: 'number' } })).toMatchObject({ additionalProperties: number0 });
  });

  test('a schema without a type accepts any JSON value', () => {
    expect(convert({})).toHaveProperty('oneOf');
    expect(convert(true)).toHaveProperty('oneOf');
  });

  test.each([
    [{ type: 'string', pattern: '^a$' }, 'pattern'],
    [{ type: 'string', format: 'email' }, "format 'email'"],
    [{ type: 'integer', minimum: 5, maximum: 1 }, 'empty'],
    [{ type: 'integer', exclusiveMinimum: 1, exclusiveMaximum: 2 }, 'empty'],
    [{ type: 'number', minimum: 2, maximum: 1 }, 'empty'],
    [{ type: 'integer', minimum: 1e300 }, 'no integer JSON can carry'],
    [{ type: 'number', minimum: 'zero' }, 'minimum must be a number'],
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

describe('number ranges', () => {
  const rulesOf = (schema: unknown) => jsonSchemaToGrammar(schema, 'p');

  test.each([
    [{ type: 'integer' }, integerRange(-maxSafe, maxSafe)],
    // zod 4's z.number().int(): the safe-integer bounds are no bounds.
    [{ type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 }, integerRange(-maxSafe, maxSafe)],
    [{ type: 'integer', minimum: 18 }, integerRange(18, maxSafe)],
    [{ type: 'integer', maximum: -3 }, integerRange(-maxSafe, -3)],
    [{ type: 'integer', minimum: 0, maximum: 100000 }, integerRange(0, 100000)],
    [{ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 3 }, integerRange(1, 2)],
    [{ type: 'integer', minimum: 0.5, maximum: 2.5 }, integerRange(1, 2)],
    [{ type: 'integer', minimum: 1, exclusiveMinimum: true, maximum: 3, exclusiveMaximum: true }, integerRange(2, 2)],
    [{ type: 'integer', maximum: 1e300 }, integerRange(-maxSafe, maxSafe)],
  ])('%j: an exact integer rule', (schema, rule) => {
    const result = rulesOf(schema);
    expect(result.exact).toBe(true);
    expect(result.schema).toEqual(number0);
    expect(result.rules).toEqual({ 'nimbus-number-0': toGbnf(rule) });
  });

  test.each([
    [{ type: 'number' }, 'any', true],
    [{ type: 'number', minimum: -9007199254740991, maximum: 9007199254740991 }, 'any', true],
    [{ type: 'number', minimum: 0 }, 'nonnegative', true],
    [{ type: 'number', exclusiveMinimum: 0 }, 'positive', true],
    [{ type: 'number', maximum: 0 }, 'nonpositive', true],
    [{ type: 'number', exclusiveMaximum: 0 }, 'negative', true],
    [{ type: 'number', minimum: 0, maximum: 1 }, 'nonnegative', false],
    [{ type: 'number', minimum: 2.5 }, 'positive', false],
    [{ type: 'number', minimum: -1, maximum: 1 }, 'any', false],
    [{ type: 'number', maximum: -0.5 }, 'negative', false],
  ] as const)('%j: sign %s by grammar, exact %s', (schema, sign, exact) => {
    const result = rulesOf(schema);
    expect(result.exact).toBe(exact);
    expect(result.rules).toEqual({ 'nimbus-number-0': toGbnf(decimal(sign)) });
  });

  test('under tool_choice auto (node-llama-cpp builds the grammar) numbers stay plain and the schema is checked after', () => {
    const result = jsonSchemaToGrammar({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } } }, 'p', 'functions');
    expect(result.schema).toMatchObject({ properties: { n: { type: 'integer' } } });
    expect(result.rules).toEqual({});
    expect(result.exact).toBe(false);
    expect(jsonSchemaToGrammar({ type: 'object', properties: { s: { type: 'string' } } }, 'p', 'functions').exact).toBe(true);
  });

  test('one rule per distinct range, shared by every place it appears', () => {
    const result = rulesOf({ type: 'object', properties: { a: { type: 'integer', minimum: 1 }, b: { type: 'integer', minimum: 1 }, c: { type: 'integer' } } });
    expect(result.schema).toMatchObject({ properties: { a: number0, b: number0, c: { const: 'nimbus-number-1' } } });
    expect(Object.keys(result.rules)).toEqual(['nimbus-number-0', 'nimbus-number-1']);
  });

  test("the placeholders' rules replace node-llama-cpp's literal rules, and plain numbers lose their exponent", () => {
    const generated = [
      'root ::= "{" val0 "," val1 "}"',
      'val0 ::= "\\"nimbus-number-0\\""',
      'val1 ::= "\\"nimbus-number-1\\""',
      'fractional-number-rule ::= "-"? [0-9]+ ([eE] [0-9]+)?',
    ].join('\n');
    const text = jsonGrammarText(generated, { 'nimbus-number-0': '[1-3]', 'nimbus-number-1': '"7"' });
    expect(text).toContain('val0 ::= [1-3]\nval1 ::= "7"');
    expect(text).toContain(`fractional-number-rule ::= ${toGbnf(decimal('any'))}`);
    expect(() => jsonGrammarText(generated, { 'nimbus-number-9': '[0]' })).toThrow(/not found/);
  });
});
