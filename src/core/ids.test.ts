import { describe, expect, test } from 'vitest';
import { newId, newTimeOrderedId } from './ids.js';

describe('newId', () => {
  test('is the prefix and `length` characters from the base-62 alphabet', () => {
    const id = newId('call_', 20);
    expect(id).toMatch(/^call_[0-9a-zA-Z]{20}$/);
  });
});

describe('newTimeOrderedId', () => {
  test('keeps the shape of newId: the prefix, then 24 base-62 characters', () => {
    expect(newTimeOrderedId('chatcmpl-')).toMatch(/^chatcmpl-[0-9a-zA-Z]{24}$/);
  });

  test('ids compare (as strings, in byte order) as their creation times do', () => {
    const times = [0, 1, 61, 62, 3843, 3844, 1_700_000_000_000, 1_700_000_000_001, Date.now(), 62 ** 8 - 1];
    for (let index = 0; index < 500; index += 1) times.push(Math.floor(Math.random() * 62 ** 8));
    const ids = times.map((time) => ({ time, id: newTimeOrderedId('cmpl-', 24, time) }));
    const byId = [...ids].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((entry) => entry.time);
    expect(byId).toEqual([...times].sort((a, b) => a - b));
  });

  test('ids made in the same millisecond differ', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newTimeOrderedId('x-', 24, 1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
  });
});
