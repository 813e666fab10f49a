import { describe, expect, test } from 'vitest';
import { NimbusError } from '../core/errors.js';
import { simCatalog } from './sim/sim-catalog.js';
import { parseThingModel } from './thing-model.js';

/** The error a model is refused with. */
function refusal(model: unknown): NimbusError {
  try {
    parseThingModel(model);
  } catch (error) {
    if (error instanceof NimbusError) return error;
    throw error;
  }
  throw new Error('the model was accepted');
}

describe('parseThingModel', () => {
  test.each(Object.entries(simCatalog))('the sim %s model is valid', (_kind, behaviour) => {
    expect(() => parseThingModel(behaviour.model)).not.toThrow();
  });

  test('reads properties, actions, events, safe and idempotent', () => {
    const model = parseThingModel(simCatalog.lock.model);
    expect(model.title).toBe('Front door lock');
    expect(Object.keys(model.properties)).toEqual(['locked', 'battery']);
    expect(model.properties.locked!.readOnly).toBe(true);
    expect(model.actions.lock).toMatchObject({ safe: false, idempotent: true, risk: 'low' });
    expect(model.actions.unlock).toMatchObject({ safe: false, idempotent: true, risk: 'high' });
    expect(Object.keys(model.events)).toEqual(['visitor_message']);
  });

  test.each([
    ['lock', { 'nimbus:kind': 'lock' }, 'high'],
    ['door by @type', { '@type': ['tm:ThingModel', 'saref:DoorLock'] }, 'high'],
    ['garage door by title', { title: 'Garage door' }, 'high'],
    ['valve', { title: 'Gas valve' }, 'high'],
    ['heater', { 'nimbus:kind': 'space-heater' }, 'high'],
    ['robot', { title: 'Robotic vacuum' }, 'high'],
    ['camelCase kind', { 'nimbus:kind': 'SmartLock' }, 'high'],
    ['lamp', { title: 'Lamp' }, 'low'],
    ['clock is not a lock', { title: 'Alarm clock' }, 'low'],
    ['heat pump is not a heater', { title: 'Heat pump' }, 'low'],
    ['the model says otherwise', { 'nimbus:kind': 'lock', 'nimbus:risk': 'low' }, 'low'],
    ['critical', { title: 'Lamp', 'nimbus:risk': 'critical' }, 'critical'],
  ])('risk tier: %s', (_label, fields, risk) => {
    const model = parseThingModel({ title: 'Thing', actions: { go: {} }, ...fields });
    expect(model.risk).toBe(risk);
    expect(model.actions.go!.risk).toBe(risk);
  });

  test('an affordance overrides the device tier', () => {
    const model = parseThingModel({
      title: 'Lock',
      actions: { lock: { 'nimbus:risk': 'low' }, unlock: {} },
      properties: { code: { type: 'string', 'nimbus:risk': 'critical' } },
    });
    expect(model.actions.lock!.risk).toBe('low');
    expect(model.actions.unlock!.risk).toBe('high');
    expect(model.properties.code!.risk).toBe('critical');
  });

  test.each([
    ['not an object', [], '(root)'],
    ['no title', { properties: {} }, 'title'],
    ['empty title', { title: ' ' }, 'title'],
    ['bad @type', { title: 'T', '@type': 3 }, '@type'],
    ['unknown nimbus term', { title: 'T', 'nimbus:risc': 'low' }, 'nimbus:risc'],
    ['bad risk', { title: 'T', 'nimbus:risk': 'medium' }, 'nimbus:risk'],
    ['bad affordance risk', { title: 'T', actions: { go: { 'nimbus:risk': 'none' } } }, 'actions.go.nimbus:risk'],
    ['properties not an object', { title: 'T', properties: [] }, 'properties'],
    ['bad property name', { title: 'T', properties: { 'bad name': { type: 'string' } } }, 'properties.bad name'],
    ['bad property type', { title: 'T', properties: { level: { type: 'float' } } }, 'properties.level.type'],
    ['minimum above maximum', { title: 'T', properties: { level: { type: 'integer', minimum: 10, maximum: 1 } } }, 'properties.level.minimum'],
    ['non-numeric maximum', { title: 'T', properties: { level: { type: 'number', maximum: 'high' } } }, 'properties.level.maximum'],
    ['empty enum', { title: 'T', properties: { mode: { type: 'string', enum: [] } } }, 'properties.mode.enum'],
    ['bad readOnly', { title: 'T', properties: { mode: { type: 'string', readOnly: 'yes' } } }, 'properties.mode.readOnly'],
    ['bad observable', { title: 'T', properties: { mode: { type: 'string', observable: 1 } } }, 'properties.mode.observable'],
    ['bad safe', { title: 'T', actions: { go: { safe: 'no' } } }, 'actions.go.safe'],
    ['bad idempotent', { title: 'T', actions: { go: { idempotent: null } } }, 'actions.go.idempotent'],
    [
      'bad nested input',
      { title: 'T', actions: { go: { input: { type: 'object', properties: { x: { type: 'int' } } } } } },
      'actions.go.input.properties.x.type',
    ],
    ['required not declared', { title: 'T', actions: { go: { input: { type: 'object', properties: {}, required: ['x'] } } } }, 'actions.go.input.required'],
    ['bad output', { title: 'T', actions: { go: { output: 5 } } }, 'actions.go.output'],
    ['bad event data', { title: 'T', events: { rang: { data: { type: 'text' } } } }, 'events.rang.data.type'],
    ['bad minLength', { title: 'T', properties: { name: { type: 'string', minLength: -1 } } }, 'properties.name.minLength'],
    ['bad items', { title: 'T', properties: { list: { type: 'array', items: { type: 'nope' } } } }, 'properties.list.items.type'],
    ['bad oneOf', { title: 'T', properties: { v: { oneOf: [] } } }, 'properties.v.oneOf'],
  ])('refused, naming the field: %s', (_label, model, field) => {
    const error = refusal(model);
    expect(error.code).toBe('invalid_value');
    expect(error.message).toContain(`'${field}'`);
    expect(error.param).toBe(`model.${field}`);
  });

  test('too many affordances are refused', () => {
    const actions = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`a${index}`, {}]));
    expect(refusal({ title: 'T', actions }).message).toMatch(/at most 64/);
  });

  test('validators check ranges, types and empty inputs', () => {
    const model = parseThingModel(simCatalog.thermostat.model);
    expect(model.properties.target!.validate(21.5)).toBeUndefined();
    expect(model.properties.target!.validate(31)).toMatch(/target must be <= 30/);
    expect(model.properties.target!.validate('hot')).toMatch(/target must be number/);
    expect(model.properties.mode!.validate('party')).toMatch(/allowed values/);
    expect(model.actions.boost!.validate(4)).toMatch(/input must be >= 5/);
    const lamp = parseThingModel(simCatalog.lamp.model);
    expect(lamp.actions.toggle!.validate(undefined)).toBeUndefined();
    expect(lamp.actions.toggle!.validate({})).toBeUndefined();
    expect(lamp.actions.toggle!.validate({ approved: true })).toMatch(/takes no input/);
    const robot = parseThingModel(simCatalog.robot.model);
    expect(robot.actions.move_to!.validate({ x: 1, y: 2 })).toMatch(/must have required property 'z'/);
    expect(robot.actions.move_to!.validate({ x: 1, y: 2, z: 900 })).toMatch(/input.z must be <= 800/);
  });
});
