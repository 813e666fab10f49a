import { expect, test } from 'vitest';
import { applyConnection, applyDesired, applyReported, changedValues, emptyTwin, twinDelta } from './twin.js';

test('reported values merge and bump the version only when something changed', () => {
  const start = emptyTwin('t1', 'lamp-1', 1);
  const first = applyReported(start, { on: true, brightness: 40 }, 2);
  expect(first.twin).toMatchObject({ reported: { on: true, brightness: 40 }, version: 1, reportedAt: 2 });
  expect(first.changed).toEqual({ on: true, brightness: 40 });
  const again = applyReported(first.twin, { on: true, brightness: 40 }, 3);
  expect(again.changed).toEqual({});
  expect(again.twin.version).toBe(1);
  expect(again.twin.reportedAt).toBe(3);
  const partial = applyReported(again.twin, { brightness: 41 }, 4);
  expect(partial.twin).toMatchObject({ reported: { on: true, brightness: 41 }, version: 2 });
});

test('nested values compare by content, not identity or key order', () => {
  const twin = applyReported(emptyTwin('t', 'r', 0), { position: { x: 1, y: 2 } }, 1).twin;
  expect(applyReported(twin, { position: { y: 2, x: 1 } }, 2).changed).toEqual({});
  expect(applyReported(twin, { position: { x: 1, y: 3 } }, 2).changed).toEqual({ position: { x: 1, y: 3 } });
});

test('desired values and the delta', () => {
  let twin = applyReported(emptyTwin('t', 'lamp', 0), { on: false, brightness: 10 }, 1).twin;
  twin = applyDesired(twin, { on: true }, 2).twin;
  expect(twin.version).toBe(2);
  expect(twinDelta(twin)).toEqual({ on: true });
  twin = applyReported(twin, { on: true }, 3).twin;
  expect(twinDelta(twin)).toEqual({});
  expect(applyDesired(twin, { on: true }, 4).twin.version).toBe(twin.version);
});

test('connection changes bump the version once', () => {
  const online = applyConnection(emptyTwin('t', 'd', 0), 'online', 1);
  expect(online.twin).toMatchObject({ connection: 'online', version: 1 });
  expect(applyConnection(online.twin, 'online', 2).twin.version).toBe(1);
  expect(applyConnection(online.twin, 'lost', 3).twin).toMatchObject({ connection: 'lost', version: 2 });
});

test('changedValues treats new keys, nulls and arrays exactly', () => {
  expect(changedValues({ a: 1 }, { a: 1, b: null })).toEqual({ b: null });
  expect(changedValues({ a: [1, 2] }, { a: [2, 1] })).toEqual({ a: [2, 1] });
  expect(changedValues({ a: null }, { a: null })).toEqual({});
});
