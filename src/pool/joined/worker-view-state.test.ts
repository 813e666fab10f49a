import { expect, test } from 'vitest';
import { workerViewState } from './worker-view-state.js';

test('a drain is done (drained) once no replica is placed on the worker; silence wins over both', () => {
  expect(workerViewState('ready', false, 2)).toBe('ready');
  expect(workerViewState('ready', true, 1)).toBe('draining');
  expect(workerViewState('draining', true, 0)).toBe('drained');
  expect(workerViewState('ready', false, 0)).toBe('ready');
  expect(workerViewState('unreachable', true, 0)).toBe('unreachable');
  expect(workerViewState(undefined, false, 0)).toBe('unreachable');
});
