import { describe, expect, test } from 'vitest';
import { deviceTools } from '../device-tools.js';
import { parseThingModel } from '../thing-model.js';
import { drivingState, vehicleBehaviour, vehicleModel } from './vehicle.js';

const model = parseThingModel(vehicleModel);

describe('the simulated vehicle', () => {
  test('its tools are the comfort functions and a read; nothing touches driving', () => {
    const names = deviceTools('car', model).map((tool) => tool.name);
    expect(names).toEqual([
      'car__get',
      'car__do_set_climate',
      'car__do_set_window',
      'car__do_set_seat_heating',
      'car__do_set_media',
      'car__do_navigate_to',
      'car__do_cancel_navigation',
    ]);
    expect(names.filter((name) => /speed|gear|brake|steer|driv|accel/.test(name))).toEqual([]);
    expect(Object.values(model.properties).every((property) => property.readOnly)).toBe(true);
  });

  test('the windows are high risk while driving, low when parked', () => {
    expect(model.actions.set_window!.riskWhen).toEqual([{ property: 'driving', equals: true, risk: 'high' }]);
    expect(model.actions.set_climate!.riskWhen).toEqual([]);
    expect(model.risk).toBe('low');
  });

  test('actions change the state; driving changes only through drivingState', () => {
    const state = vehicleBehaviour.initial();
    expect(vehicleBehaviour.invoke(state, 'set_window', { window: 'all', open_percent: 40 })).toEqual({
      windows: { front_left: 40, front_right: 40, rear_left: 40, rear_right: 40 },
    });
    vehicleBehaviour.invoke(state, 'set_seat_heating', { seat: 'passenger', level: 3 });
    expect(state.seat_heating).toEqual({ driver: 0, passenger: 3 });
    const guided = vehicleBehaviour.invoke(state, 'navigate_to', { destination: 'Harbour' }) as { eta_minutes: number };
    expect(guided.eta_minutes).toBe(
      (vehicleBehaviour.invoke(vehicleBehaviour.initial(), 'navigate_to', { destination: 'Harbour' }) as typeof guided).eta_minutes,
    );
    expect(() => vehicleBehaviour.invoke(state, 'accelerate', {})).toThrow(/no action/);
    expect(drivingState(50)).toEqual({ driving: true, speed_kmh: 50, gear: 'D' });
    expect(drivingState(0)).toEqual({ driving: false, speed_kmh: 0, gear: 'P' });
  });
});
