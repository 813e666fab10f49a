import { expect, test } from 'vitest';
import { commandInput, deviceTools, parseToolName } from './device-tools.js';
import { simCatalog } from './sim/sim-catalog.js';
import { parseThingModel } from './thing-model.js';

test('a device becomes a read tool, a tool per writable property and one per action', () => {
  const tools = deviceTools('lock-1', parseThingModel(simCatalog.lock.model));
  expect(tools.map((tool) => tool.name)).toEqual(['lock-1__get', 'lock-1__do_lock', 'lock-1__do_unlock']);
  const unlock = tools.find((tool) => tool.name === 'lock-1__do_unlock')!;
  expect(unlock).toMatchObject({
    risk: 'high',
    readOnly: false,
    idempotent: true,
    target: { deviceId: 'lock-1', kind: 'invoke', name: 'unlock', wrapped: false },
  });
  expect(unlock.description).toMatch(/human approval/);
  expect(unlock.parameters).toMatchObject({ type: 'object', additionalProperties: false });
});

test('property tools wrap the value; non-object inputs are wrapped too', () => {
  const tools = deviceTools('thermo-1', parseThingModel(simCatalog.thermostat.model));
  expect(tools.map((tool) => tool.name)).toEqual(['thermo-1__get', 'thermo-1__set_target', 'thermo-1__set_mode', 'thermo-1__do_boost']);
  const target = tools[1]!;
  expect(target.parameters).toEqual({
    type: 'object',
    properties: { value: { type: 'number', minimum: 5, maximum: 30, unit: 'celsius' } },
    required: ['value'],
    additionalProperties: false,
  });
  // A grammar cannot enforce a number range: it is stated in words and checked by the server.
  expect(target.grammarParameters).toEqual({
    type: 'object',
    properties: { value: { type: 'number', description: '(minimum 5, maximum 30, unit celsius; checked by the server)' } },
    required: ['value'],
    additionalProperties: false,
  });
  const boost = tools[3]!;
  expect(boost.target).toMatchObject({ wrapped: true });
  expect(commandInput(boost.target, { value: 15 })).toBe(15);
  expect(commandInput(target.target, { value: 21 })).toBe(21);
});

test('narrow integer ranges stay in the grammar schema', () => {
  const lamp = deviceTools('lamp-1', parseThingModel(simCatalog.lamp.model));
  expect(lamp[2]!.grammarParameters.properties).toEqual({
    value: { type: 'integer', minimum: 0, maximum: 100, description: '(unit percent; checked by the server)' },
  });
  expect(commandInput(lamp[3]!.target, {})).toBeUndefined();
});

test('tool names split back into device and verb', () => {
  expect(parseToolName('lamp-1__set_on')).toEqual({ deviceId: 'lamp-1', verb: 'set_on' });
  expect(parseToolName('robot-1__do_move_to')).toEqual({ deviceId: 'robot-1', verb: 'do_move_to' });
  expect(parseToolName('weather')).toBeUndefined();
  expect(parseToolName('__x')).toBeUndefined();
});
