/**
 * The virtual devices of `nimbus sim`: a lamp, a thermostat, a door lock, a conveyor belt, a
 * robot arm, and a car (`vehicle.ts`). Each is a thing model plus a behaviour: its initial state, and how it applies a
 * property write or an action (returning the action's output, or throwing to fail it).
 */
import { vehicleBehaviour } from './vehicle.js';

/** A virtual device's state: property name -> value. */
export type SimState = Record<string, unknown>;

/** How one kind of virtual device behaves. */
export interface SimBehaviour {
  /** The W3C WoT Thing Model it registers with. */
  model: Record<string, unknown>;
  initial(): SimState;
  /** Applies an action to the state; returns its output. Throws to fail it. */
  invoke(state: SimState, action: string, input: unknown): unknown;
  /** What the device does when its tenant's emergency stop engages. */
  halt(state: SimState): void;
}

/** The kinds `nimbus sim` knows. */
export type SimKind = 'lamp' | 'thermostat' | 'lock' | 'conveyor' | 'robot' | 'vehicle';

/** The kinds `nimbus sim` runs when none are named (the car comes with `--vehicle`). */
export const defaultSimKinds: readonly SimKind[] = ['lamp', 'thermostat', 'lock', 'conveyor', 'robot'];

const context = ['https://www.w3.org/2022/wot/td/v1.1', { nimbus: 'https://nimbus.dev/ns#' }];
// Declared outputs: what an action answers is data, not device text (anything undeclared would be untrusted).
const lockOutput = { type: 'object', properties: { locked: { type: 'boolean' }, relock_in: { type: ['integer', 'null'] } } };
const runningOutput = { type: 'object', properties: { running: { type: 'boolean' } } };
const point = { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' }, z: { type: 'number' } } };
const positionOutput = { type: 'object', properties: { position: point } };
const input = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {});

export const simCatalog: Record<SimKind, SimBehaviour> = {
  lamp: {
    model: {
      '@context': context,
      '@type': 'tm:ThingModel',
      title: 'Lamp',
      'nimbus:kind': 'lamp',
      properties: {
        on: { type: 'boolean', observable: true },
        brightness: { type: 'integer', minimum: 0, maximum: 100, unit: 'percent', observable: true },
      },
      actions: {
        toggle: {
          description: 'Switch the lamp on if off, off if on',
          idempotent: false,
          output: { type: 'object', properties: { on: { type: 'boolean' } } },
        },
      },
    },
    initial: () => ({ on: false, brightness: 50 }),
    invoke(state, action) {
      if (action === 'toggle') state.on = !state.on;
      return { on: state.on };
    },
    halt() {},
  },
  thermostat: {
    model: {
      '@context': context,
      '@type': 'tm:ThingModel',
      title: 'Thermostat',
      'nimbus:kind': 'thermostat',
      properties: {
        temperature: { type: 'number', readOnly: true, unit: 'celsius' },
        target: { type: 'number', minimum: 5, maximum: 30, unit: 'celsius' },
        mode: { type: 'string', enum: ['off', 'heat', 'cool', 'auto'] },
      },
      actions: {
        boost: {
          description: 'Heat for a number of minutes',
          input: { type: 'integer', minimum: 5, maximum: 60 },
          output: { type: 'object', properties: { boosting_minutes: { type: 'integer' } } },
        },
      },
    },
    initial: () => ({ temperature: 20.5, target: 21, mode: 'auto' }),
    invoke(state, _action, minutes) {
      state.mode = 'heat';
      return { boosting_minutes: minutes };
    },
    halt(state) {
      state.mode = 'off';
    },
  },
  lock: {
    model: {
      '@context': context,
      '@type': ['tm:ThingModel', 'saref:DoorLock'],
      title: 'Front door lock',
      'nimbus:kind': 'lock',
      properties: {
        locked: { type: 'boolean', readOnly: true, observable: true },
        battery: { type: 'integer', minimum: 0, maximum: 100, readOnly: true },
      },
      actions: {
        lock: { description: 'Lock the door', safe: false, idempotent: true, 'nimbus:risk': 'low', output: lockOutput },
        unlock: {
          description: 'Unlock the door; it locks again after `seconds`',
          input: { type: 'object', properties: { seconds: { type: 'integer', minimum: 1, maximum: 300 } } },
          idempotent: true,
          output: lockOutput,
        },
      },
      events: { visitor_message: { description: 'A message typed on the keypad', data: { type: 'string' } } },
    },
    initial: () => ({ locked: true, battery: 87 }),
    invoke(state, action, given) {
      if (action === 'lock') state.locked = true;
      else state.locked = false;
      return { locked: state.locked, relock_in: action === 'unlock' ? (input(given).seconds ?? 10) : null };
    },
    halt(state) {
      state.locked = true;
    },
  },
  conveyor: {
    model: {
      '@context': context,
      '@type': 'tm:ThingModel',
      title: 'Conveyor belt',
      'nimbus:kind': 'conveyor',
      properties: {
        running: { type: 'boolean', readOnly: true },
        speed: { type: 'number', minimum: 0, maximum: 2.5, unit: 'm/s', 'nimbus:risk': 'high' },
      },
      actions: {
        start: { description: 'Start the belt', 'nimbus:risk': 'high', output: runningOutput },
        stop: { description: 'Stop the belt', idempotent: true, output: runningOutput },
      },
      events: { jam: { data: { type: 'object', properties: { at_mm: { type: 'integer' } } } } },
    },
    initial: () => ({ running: false, speed: 0.5 }),
    invoke(state, action) {
      state.running = action === 'start';
      return { running: state.running };
    },
    halt(state) {
      state.running = false;
    },
  },
  robot: {
    model: {
      '@context': context,
      '@type': 'tm:ThingModel',
      title: 'Robot arm',
      'nimbus:kind': 'robot',
      properties: {
        position: {
          type: 'object',
          readOnly: true,
          properties: { x: { type: 'number' }, y: { type: 'number' }, z: { type: 'number' } },
        },
        gripper: { type: 'string', enum: ['open', 'closed'] },
        moving: { type: 'boolean', readOnly: true },
      },
      actions: {
        move_to: {
          description: 'Move the tool to a point, in millimetres',
          'nimbus:risk': 'critical',
          input: {
            type: 'object',
            properties: {
              x: { type: 'number', minimum: -500, maximum: 500 },
              y: { type: 'number', minimum: -500, maximum: 500 },
              z: { type: 'number', minimum: 0, maximum: 800 },
            },
            required: ['x', 'y', 'z'],
          },
          output: positionOutput,
        },
        home: { description: 'Return to the home position', output: positionOutput },
        stop: { description: 'Stop moving at once', idempotent: true, 'nimbus:risk': 'low', output: positionOutput },
      },
    },
    initial: () => ({ position: { x: 0, y: 0, z: 400 }, gripper: 'open', moving: false }),
    invoke(state, action, given) {
      if (action === 'move_to') {
        const target = input(given);
        state.position = { x: target.x, y: target.y, z: target.z };
      } else if (action === 'home') state.position = { x: 0, y: 0, z: 400 };
      state.moving = false;
      return { position: state.position };
    },
    halt(state) {
      state.moving = false;
    },
  },
  vehicle: vehicleBehaviour,
};

/** Whether a name is a sim kind. */
export function isSimKind(name: string): name is SimKind {
  return name in simCatalog;
}
