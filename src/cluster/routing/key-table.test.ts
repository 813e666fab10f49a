import { describe, expect, test } from 'vitest';
import { KeyTable, keyCode } from './key-table.js';

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

describe('KeyTable', () => {
  test('agrees with a Map through random sets and deletes, across resizes and probe runs', () => {
    let state = 7;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    const table = new KeyTable();
    const expected = new Map<string, number>();
    // A small key space, so sets and deletes hit the same keys; both coded and other strings.
    const keyAt = (index: number) => (index % 10 === 0 ? `Other-${index}` : ((index * 2654435761) >>> 0).toString(36));
    for (let step = 0; step < 60_000; step += 1) {
      const key = keyAt(Math.floor(next() * 5000));
      if (next() < 0.55) {
        if (table.get(key) < 0) {
          table.add(step);
          expected.set(key, step);
        }
      } else {
        table.delete(keyCode(key), key);
        expected.delete(key);
      }
    }
    expect(expected.size).toBeGreaterThan(1000);
    expect(table.size).toBe(expected.size);
    for (let index = 0; index < 5000; index += 1) expect(table.get(keyAt(index))).toBe(expected.get(keyAt(index)) ?? -1);
  });
});
