import { describe, expect, test } from 'vitest';
import { formatWait, windowAt } from './time-windows.js';

const at = (iso: string): number => Date.parse(iso);

describe('calendar windows (UTC)', () => {
  test.each([
    ['minute', '2025-03-04T05:06:07.890Z', '2025-03-04T05:06:00.000Z', '2025-03-04T05:07:00.000Z'],
    ['minute', '2025-03-04T05:06:00.000Z', '2025-03-04T05:06:00.000Z', '2025-03-04T05:07:00.000Z'],
    ['minute', '2025-12-31T23:59:59.999Z', '2025-12-31T23:59:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['day', '2025-03-04T23:59:59.999Z', '2025-03-04T00:00:00.000Z', '2025-03-05T00:00:00.000Z'],
    ['day', '2024-02-28T12:00:00Z', '2024-02-28T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    ['day', '2025-12-31T12:00:00Z', '2025-12-31T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['month', '2024-02-29T12:00:00Z', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['month', '2025-12-15T00:00:00Z', '2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['month', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
  ] as const)('%s window of %s is [%s, %s)', (name, now, start, end) => {
    const window = windowAt(name, at(now));
    expect(new Date(window.start).toISOString()).toBe(start);
    expect(new Date(window.end).toISOString()).toBe(end);
  });

  test('window ids name the window and change exactly at its end', () => {
    expect(windowAt('day', at('2025-03-04T10:00:00Z')).id).toBe('d2025-03-04');
    expect(windowAt('month', at('2025-03-04T10:00:00Z')).id).toBe('M2025-03');
    const minute = windowAt('minute', at('2025-03-04T10:00:30Z'));
    expect(windowAt('minute', minute.end - 1).id).toBe(minute.id);
    expect(windowAt('minute', minute.end).id).not.toBe(minute.id);
  });

  test.each([
    [0, '0ms'],
    [-5, '0ms'],
    [20.2, '21ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [3_723_000, '1h2m3s'],
  ])('formatWait(%d) is %s', (milliseconds, text) => {
    expect(formatWait(milliseconds)).toBe(text);
  });
});
