import { describe, expect, test } from 'vitest';
import { decimal, integerRange, maxSafe, toGbnf, toRegExpSource, type NumberSign } from './number-grammar.js';

const matcher = (node: Parameters<typeof toRegExpSource>[0]) => new RegExp(`^${toRegExpSource(node)}$`);

/** Every integer text the grammar of [low, high] accepts among the values near the bounds and zero. */
function checkRange(low: number, high: number): void {
  const pattern = matcher(integerRange(low, high));
  const probes = new Set<number>();
  for (const center of [low, high, 0, Math.trunc((low + high) / 2), 10, -10, 100, -100, 1000]) {
    for (let offset = -25; offset <= 25; offset += 1) {
      const value = center + offset;
      if (Number.isSafeInteger(value)) probes.add(value);
    }
  }
  for (const value of probes) {
    const inside = value >= low && value <= high;
    if (pattern.test(String(value)) !== inside) throw new Error(`[${low}, ${high}]: ${value} ${inside ? 'refused' : 'accepted'}`);
  }
  // Never anything but plain integers.
  for (const text of ['-0', '01', '+1', '1e3', '1.0', '-', '', ' 1']) expect(pattern.test(text), `[${low}, ${high}] accepted '${text}'`).toBe(false);
}

describe('integerRange', () => {
  test('small, wide, negative, one-sided and safe-integer ranges are exact', () => {
    const cases: Array<[number, number]> = [
      [0, 0],
      [0, 9],
      [1, 10],
      [-5, 5],
      [-1000, -1],
      [7, 7],
      [19, 2001],
      [-37, 4096],
      [123, 98765],
      [1, 1_000_000],
      [0, maxSafe],
      [-maxSafe, maxSafe],
      [-maxSafe, 0],
      [-maxSafe, -1],
      [18, maxSafe],
      [-maxSafe, 150],
      [999, 1000],
      [1000, 1999],
      [109, 901],
    ];
    for (const [low, high] of cases) checkRange(low, high);
  });

  test('random ranges are exact', () => {
    let seed = 42;
    const next = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let index = 0; index < 300; index += 1) {
      const scale = 10 ** Math.floor(next() * 7);
      const a = Math.floor((next() - 0.5) * scale * 2);
      const b = Math.floor((next() - 0.5) * scale * 2);
      checkRange(Math.min(a, b), Math.max(a, b));
    }
  });

  test('renders as GBNF llama.cpp reads', () => {
    expect(toGbnf(integerRange(0, 9))).toBe('[0-9]');
    expect(toGbnf(integerRange(-5, 12))).toBe('"-" [1-5] | [0-9] | "1" [0-2]');
    expect(() => integerRange(3, 2)).toThrow(RangeError);
    expect(() => integerRange(0, 2 ** 53)).toThrow(RangeError);
  });
});

describe('decimal', () => {
  const values = ['0', '0.0', '-0', '-0.0', '1', '12.5', '0.001', '-0.001', '-7', '-12.25', '999999999999999.123456789012345', '0.000000000000001'];
  const expectations: Record<NumberSign, (value: number) => boolean> = {
    any: () => true,
    nonnegative: (value) => value >= 0 && !Object.is(value, -0),
    positive: (value) => value > 0,
    nonpositive: (value) => value <= 0 && !Object.is(value, -0),
    negative: (value) => value < 0,
  };
  for (const sign of Object.keys(expectations) as NumberSign[]) {
    test(`${sign}: accepts exactly the values of its sign, and no exponent`, () => {
      const pattern = matcher(decimal(sign));
      for (const text of values) {
        const wanted = expectations[sign](Number(text));
        expect(pattern.test(text), `${sign} ${text}`).toBe(wanted);
      }
      for (const text of ['1e5', '1E5', '-3e-3', '1e4000', '01', '.5', '1.', '+1', 'NaN', '0x10']) expect(pattern.test(text), `${sign} ${text}`).toBe(false);
    });
  }

  test('every accepted text parses to a finite number of the sign', () => {
    const pattern = matcher(decimal('positive'));
    expect(pattern.test(`${'9'.repeat(15)}.${'9'.repeat(15)}`)).toBe(true);
    expect(pattern.test('9'.repeat(16))).toBe(false);
    expect(pattern.test(`0.${'0'.repeat(14)}1`)).toBe(true);
    expect(pattern.test(`0.${'0'.repeat(15)}1`)).toBe(false);
  });
});
