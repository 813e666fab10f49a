import { describe, expect, test } from 'vitest';
import { controlFor, fieldsValue, formatValue, numericSeries, valueOf, type Control } from './controls.js';

describe('the control a data schema gets', () => {
  test.each<[string, Parameters<typeof controlFor>[0], Control['kind']]>([
    ['no input', undefined, 'none'],
    ['boolean', { type: 'boolean' }, 'toggle'],
    ['nullable boolean', { type: ['boolean', 'null'] }, 'toggle'],
    ['ranged integer', { type: 'integer', minimum: 0, maximum: 100 }, 'slider'],
    ['ranged number', { type: 'number', minimum: 5, maximum: 30 }, 'slider'],
    ['half-open number', { type: 'number', minimum: 0 }, 'number'],
    ['unbounded integer', { type: 'integer' }, 'number'],
    ['empty range', { type: 'number', minimum: 3, maximum: 3 }, 'number'],
    ['string enum', { type: 'string', enum: ['off', 'heat'] }, 'select'],
    ['number enum', { type: 'number', enum: [1, 2, 4] }, 'select'],
    ['free string', { type: 'string' }, 'text'],
    ['object with simple fields', { type: 'object', properties: { seconds: { type: 'integer', minimum: 1, maximum: 300 } } }, 'fields'],
    ['object with a nested object', { type: 'object', properties: { at: { type: 'object', properties: { x: { type: 'number' } } } } }, 'json'],
    ['object without fields', { type: 'object' }, 'json'],
    ['array', { type: 'array' }, 'json'],
    ['enum of objects', { enum: [{ a: 1 }] }, 'json'],
  ])('%s', (_name, schema, kind) => {
    expect(controlFor(schema).kind).toBe(kind);
  });

  test('a slider takes the range; integers step by one, floats by about a hundredth of the range', () => {
    expect(controlFor({ type: 'integer', minimum: 0, maximum: 100 })).toEqual({ kind: 'slider', min: 0, max: 100, step: 1, integer: true });
    expect(controlFor({ type: 'number', minimum: 0, maximum: 2.5 })).toMatchObject({ step: 0.03 });
    expect(controlFor({ type: 'number', minimum: 5, maximum: 30, multipleOf: 0.5 })).toMatchObject({ step: 0.5 });
  });

  test('fields keep their names, whether required, and units', () => {
    const control = controlFor({
      type: 'object',
      required: ['x'],
      properties: { x: { type: 'number', unit: 'm' }, fast: { type: 'boolean' } },
    });
    expect(control).toEqual({
      kind: 'fields',
      fields: [
        { name: 'x', control: { kind: 'number', integer: false }, required: true, unit: 'm' },
        { name: 'fast', control: { kind: 'toggle' }, required: false },
      ],
    });
  });
});

describe('reading what a person typed', () => {
  const percent = controlFor({ type: 'integer', minimum: 0, maximum: 100 });
  test.each<[Control, string, unknown]>([
    [percent, '40', 40],
    [percent, ' 0 ', 0],
    [percent, '', undefined],
    [controlFor({ type: 'boolean' }), 'true', true],
    [controlFor({ type: 'boolean' }), 'false', false],
    [controlFor({ type: 'number', enum: [1, 2] }), '2', 2],
    [controlFor({ type: 'string', enum: ['off', 'heat'] }), 'heat', 'heat'],
    [controlFor({ type: 'string' }), ' keep spaces ', ' keep spaces '],
    [controlFor({ type: 'array' }), '[1, 2]', [1, 2]],
    [controlFor(undefined), 'anything', undefined],
  ])('%j reads %j as %j', (control, text, value) => {
    expect(valueOf(control, text)).toEqual({ value });
  });

  test.each<[Control, string, RegExp]>([
    [percent, '101', /outside 0 to 100/],
    [percent, '-1', /outside/],
    [percent, '4.5', /whole number/],
    [percent, 'ten', /not a number/],
    [controlFor({ type: 'string', enum: ['off', 'heat'] }), 'cool', /Pick one of off, heat/],
    [controlFor({ type: 'array' }), '[1,', /Not JSON/],
  ])('%j refuses %j', (control, text, message) => {
    const read = valueOf(control, text);
    expect('error' in read && read.error).toMatch(message);
  });

  test('fields make an object, leave out empty optional ones and name what is wrong', () => {
    const control = controlFor({
      type: 'object',
      required: ['seconds'],
      properties: { seconds: { type: 'integer', minimum: 1, maximum: 300 }, note: { type: 'string' } },
    }) as Extract<Control, { kind: 'fields' }>;
    expect(fieldsValue(control, { seconds: '30' })).toEqual({ value: { seconds: 30 } });
    expect(fieldsValue(control, { seconds: '30', note: 'hi' })).toEqual({ value: { seconds: 30, note: 'hi' } });
    expect(fieldsValue(control, {})).toEqual({ error: 'seconds is required.' });
    expect(fieldsValue(control, { seconds: '0' })).toEqual({ error: 'seconds: 0 is outside 1 to 300.' });
  });
});

test('values in words, with units', () => {
  expect(formatValue(21.5, 'celsius')).toBe('21.5 celsius');
  expect(formatValue(1 / 3)).toBe('0.333');
  expect(formatValue(true)).toBe('true');
  expect(formatValue('heat')).toBe('heat');
  expect(formatValue(null)).toBe('—');
  expect(formatValue({ x: 1 })).toBe('{"x":1}');
});

test("a numeric property's history, oldest first, skipping desired changes, unchanged values carried", () => {
  const history = [
    { kind: 'reported', data: { brightness: 80 } },
    { kind: 'desired', data: { brightness: 80 } },
    { kind: 'reported', data: { on: true } },
    { kind: 'reported', data: { brightness: 30, on: true } },
    { kind: 'reported', data: { on: false } },
    { kind: 'connection', data: { connection: 'online' } },
  ];
  expect(numericSeries(history, 'brightness')).toEqual([30, 30, 80]);
  expect(numericSeries(history, 'temperature')).toEqual([]);
});
