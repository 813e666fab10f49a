/**
 * The simulated vehicle of `nimbus sim --vehicle` (issue 23, item 1): one device whose thing model
 * holds the comfort functions as actions (climate, windows, seat heating, media, navigation) and
 * the driving state (`driving`, `speed_kmh`, `gear`) as read-only properties. Nothing that
 * affects driving is an action or a writable property, so no model can ever get a tool for it;
 * the sim changes it itself (`drive`, `park` on its console). The windows' risk rises to high
 * while `driving` is true (`nimbus:riskWhen`), so opening one then waits for a human approval.
 *
 * One device rather than one per function: `nimbus:riskWhen` reads the state of the device it is
 * declared on, and a conversation may actuate at most `maxDevicesPerRequest` (3) devices, which a
 * driver asking for climate, seat, music and a destination would exceed.
 */
import type { SimBehaviour, SimState } from './sim-catalog.js';

/** The windows of the simulated car. */
export const vehicleWindows = ['front_left', 'front_right', 'rear_left', 'rear_right'] as const;
/** The heated seats. */
export const vehicleSeats = ['driver', 'passenger'] as const;
/** Media sources. */
export const mediaSources = ['off', 'radio', 'bluetooth', 'usb'] as const;
/** Gears, as the car reports them: park, reverse, neutral, drive. */
export const gears = ['P', 'R', 'N', 'D'] as const;

const context = ['https://www.w3.org/2022/wot/td/v1.1', { nimbus: 'https://nimbus.dev/ns#' }];
const whileDriving = [{ property: 'driving', equals: true, risk: 'high' }];
const percent = { type: 'integer', minimum: 0, maximum: 100, unit: 'percent' };
const windowsSchema = { type: 'object', properties: Object.fromEntries(vehicleWindows.map((name) => [name, percent])) };
const seatLevel = { type: 'integer', minimum: 0, maximum: 3 };
const seatsSchema = { type: 'object', properties: Object.fromEntries(vehicleSeats.map((name) => [name, seatLevel])) };
const climateOutput = {
  type: 'object',
  properties: { target_celsius: { type: 'number' }, fan: { type: 'integer' } },
};

/** The vehicle's thing model; every string it reports is from an enum, so its state is data, never untrusted text. */
export const vehicleModel: Record<string, unknown> = {
  '@context': context,
  '@type': 'tm:ThingModel',
  title: 'Car',
  description: 'A simulated car: comfort functions only. Driving (speed, gear, brakes, steering) is never controllable here.',
  'nimbus:kind': 'vehicle',
  properties: {
    driving: { description: 'True while the car is out of park', type: 'boolean', readOnly: true, observable: true },
    speed_kmh: { type: 'number', minimum: 0, maximum: 250, unit: 'km/h', readOnly: true },
    gear: { type: 'string', enum: [...gears], readOnly: true },
    cabin_celsius: { type: 'number', unit: 'celsius', readOnly: true },
    target_celsius: { type: 'number', minimum: 16, maximum: 28, unit: 'celsius', readOnly: true },
    fan: { type: 'integer', minimum: 0, maximum: 5, readOnly: true },
    windows: { ...windowsSchema, description: 'How far each window is open, percent', readOnly: true },
    seat_heating: { ...seatsSchema, description: 'Seat heating level per seat, 0 (off) to 3', readOnly: true },
    media_source: { type: 'string', enum: [...mediaSources], readOnly: true },
    volume: { type: 'integer', minimum: 0, maximum: 30, readOnly: true },
    navigation: { type: 'string', enum: ['idle', 'guiding'], readOnly: true },
    eta_minutes: { type: ['integer', 'null'], readOnly: true },
  },
  actions: {
    set_climate: {
      description: 'Set the cabin temperature (16 to 28 degrees Celsius) and the fan (0 off to 5)',
      idempotent: true,
      'nimbus:risk': 'low',
      input: {
        type: 'object',
        properties: { target_celsius: { type: 'number', minimum: 16, maximum: 28 }, fan: { type: 'integer', minimum: 0, maximum: 5 } },
      },
      output: climateOutput,
    },
    set_window: {
      description: 'Open a window to a percentage (0 closes it); while driving this waits for the driver to confirm on the car',
      idempotent: true,
      'nimbus:risk': 'low',
      'nimbus:riskWhen': whileDriving,
      input: {
        type: 'object',
        properties: { window: { type: 'string', enum: [...vehicleWindows, 'all'] }, open_percent: percent },
        required: ['window', 'open_percent'],
      },
      output: { type: 'object', properties: { windows: windowsSchema } },
    },
    set_seat_heating: {
      description: 'Set seat heating for a seat, 0 (off) to 3',
      idempotent: true,
      'nimbus:risk': 'low',
      input: { type: 'object', properties: { seat: { type: 'string', enum: [...vehicleSeats] }, level: seatLevel }, required: ['seat', 'level'] },
      output: { type: 'object', properties: { seat_heating: seatsSchema } },
    },
    set_media: {
      description: 'Choose the media source and/or the volume (0 to 30)',
      idempotent: true,
      'nimbus:risk': 'low',
      input: { type: 'object', properties: { source: { type: 'string', enum: [...mediaSources] }, volume: { type: 'integer', minimum: 0, maximum: 30 } } },
      output: { type: 'object', properties: { media_source: { type: 'string', enum: [...mediaSources] }, volume: { type: 'integer' } } },
    },
    navigate_to: {
      description: 'Start route guidance to a destination (a place name or address)',
      idempotent: true,
      'nimbus:risk': 'low',
      input: { type: 'object', properties: { destination: { type: 'string', minLength: 1, maxLength: 120 } }, required: ['destination'] },
      output: { type: 'object', properties: { navigation: { type: 'string', enum: ['idle', 'guiding'] }, eta_minutes: { type: 'integer' } } },
    },
    cancel_navigation: {
      description: 'Stop route guidance',
      idempotent: true,
      'nimbus:risk': 'low',
      output: { type: 'object', properties: { navigation: { type: 'string', enum: ['idle', 'guiding'] } } },
    },
  },
};

const record = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {});

/** A stable, made-up travel time for a destination (the sim has no map). */
function etaFor(destination: string): number {
  let sum = 0;
  for (const character of destination) sum = (sum * 31 + character.charCodeAt(0)) % 997;
  return 5 + (sum % 40);
}

/** The vehicle's behaviour: parked, doors shut, 19 degrees inside. */
export const vehicleBehaviour: SimBehaviour = {
  model: vehicleModel,
  initial: (): SimState => ({
    driving: false,
    speed_kmh: 0,
    gear: 'P',
    cabin_celsius: 19,
    target_celsius: 21,
    fan: 2,
    windows: Object.fromEntries(vehicleWindows.map((name) => [name, 0])),
    seat_heating: Object.fromEntries(vehicleSeats.map((name) => [name, 0])),
    media_source: 'radio',
    volume: 8,
    navigation: 'idle',
    eta_minutes: null,
  }),
  invoke(state, action, given) {
    const input = record(given);
    switch (action) {
      case 'set_climate':
        if (input.target_celsius !== undefined) state.target_celsius = input.target_celsius;
        if (input.fan !== undefined) state.fan = input.fan;
        return { target_celsius: state.target_celsius, fan: state.fan };
      case 'set_window': {
        const windows = { ...record(state.windows) };
        for (const name of input.window === 'all' ? vehicleWindows : [input.window as string]) windows[name] = input.open_percent;
        state.windows = windows;
        return { windows };
      }
      case 'set_seat_heating':
        state.seat_heating = { ...record(state.seat_heating), [input.seat as string]: input.level };
        return { seat_heating: state.seat_heating };
      case 'set_media':
        if (input.source !== undefined) state.media_source = input.source;
        if (input.volume !== undefined) state.volume = input.volume;
        return { media_source: state.media_source, volume: state.volume };
      case 'navigate_to':
        state.navigation = 'guiding';
        state.eta_minutes = etaFor(String(input.destination));
        return { navigation: state.navigation, eta_minutes: state.eta_minutes };
      case 'cancel_navigation':
        state.navigation = 'idle';
        state.eta_minutes = null;
        return { navigation: state.navigation };
      default:
        throw new Error(`the car has no action '${action}'`);
    }
  },
  halt(state) {
    // An emergency stop of the tenant stops what the assistant started; the car keeps driving safely.
    state.fan = 0;
    state.media_source = 'off';
  },
};

/** The driving state for `drive SPEED` (in drive) and `park`: the only way it changes, outside any API. */
export function drivingState(speedKmh: number): SimState {
  return speedKmh > 0 ? { driving: true, speed_kmh: speedKmh, gear: 'D' } : { driving: false, speed_kmh: 0, gear: 'P' };
}
