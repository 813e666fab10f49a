import { describe, expect, test } from 'vitest';
import { KeyCodes, KeyTable, keyCode } from './key-table.js';

describe('keyCode', () => {
  test('numbers base-36 strings one to one, leading zeros and lengths included', () => {
    const strings = ['0', '00', '000', 'z', '10', 'zz', '100', '1z141z3', '01z141z3', 'zzzzzzzzzz'];
    const codes = strings.map(keyCode);
    expect(new Set(codes).size).toBe(strings.length);
    for (const code of codes) expect(Number.isSafeInteger(code) && code > 0).toBe(true);
  });

  test('other strings have no number', () => {
    for (const key of ['', 'K1', 'a-b', 'zzzzzzzzzzz', 'é']) expect(keyCode(key)).toBe(-1);
  });
});

describe('KeyCodes', () => {
  test("the router's keys keep their base-36 number; other strings get negative ones while held", () => {
    const codes = new KeyCodes();
    expect(codes.codeOf('1z141z3', false)).toBe(keyCode('1z141z3'));
    expect(codes.codeOf('Other', false)).toBe(0);
    const other = codes.codeOf('Other', true);
    expect(other).toBeLessThan(0);
    expect(codes.codeOf('Other', false)).toBe(other);
    expect(codes.codeOf('Another', true)).not.toBe(other);
    codes.release(other);
    codes.release(keyCode('1z141z3'));
    expect(codes.codeOf('Other', false)).toBe(0);
    expect(codes.others).toBe(1);
  });
});

describe('KeyTable', () => {
  test('agrees with a Map through random adds, updates and deletes, across resizes and probe runs', () => {
    let state = 7;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    const codes = new KeyCodes();
    const table = new KeyTable();
    const expected = new Map<string, number>();
    // A small key space, so adds and deletes hit the same keys; both coded and other strings.
    const keyAt = (index: number) => (index % 10 === 0 ? `Other-${index}` : ((index * 2654435761) >>> 0).toString(36));
    for (let step = 0; step < 60_000; step += 1) {
      const key = keyAt(Math.floor(next() * 5000));
      const roll = next();
      if (roll < 0.45) {
        const code = codes.codeOf(key, true);
        if (table.find(code) < 0) {
          table.add(code, step);
          expected.set(key, step);
        }
      } else if (roll < 0.55) {
        const at = table.find(codes.codeOf(key, false));
        if (at >= 0) {
          table.setValueAt(at, step);
          expected.set(key, step);
        }
      } else {
        const code = codes.codeOf(key, false);
        table.delete(code);
        codes.release(code);
        expected.delete(key);
      }
    }
    expect(expected.size).toBeGreaterThan(1000);
    expect(table.size).toBe(expected.size);
    // Released strings are forgotten: only those still held keep a number.
    expect(codes.others).toBe([...expected.keys()].filter((key) => key.startsWith('Other')).length);
    for (let index = 0; index < 5000; index += 1) expect(table.get(codes.codeOf(keyAt(index), false))).toBe(expected.get(keyAt(index)) ?? -1);
  });
});
