/**
 * Risk that depends on the device's state (issue 17, item 4), through a `nimbus serve` process,
 * its embedded broker and a virtual vehicle: a thing model raises the windows' risk while
 * `driving` is true (`nimbus:riskWhen`), and the policy evaluates it at the time of each command.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, type SafetyServer } from './support/safety-rig.js';

let server: SafetyServer;
let admin: string;

const vehicle = {
  title: 'Vehicle',
  properties: {
    driving: { type: 'boolean', readOnly: true },
    brightness: {
      description: 'The window, percent open (the sim keeps it as brightness)',
      type: 'integer',
      minimum: 0,
      maximum: 100,
      'nimbus:risk': 'low',
      'nimbus:riskWhen': [{ property: 'driving', equals: true, risk: 'high' }],
    },
  },
};

beforeAll(async () => {
  server = await startSafetyServer();
  admin = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  const car = await server.addSim(admin, 'lamp', 'car-1', { model: vehicle });
  await car.report({ driving: false });
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/car-1/twin')).body.reported).toMatchObject({ driving: false }));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  killNimbusProcesses();
});

test("the window's risk follows the reported driving state at the time of the command", async () => {
  const parked = await server.api(admin, 'PUT', '/v1/devices/car-1/properties/brightness', { value: 40 });
  expect(parked.body).toMatchObject({ status: 'acked', risk: 'low' });
  await server.sims.get('car-1')!.report({ driving: true });
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/car-1/twin')).body.reported).toMatchObject({ driving: true }));
  const moving = await server.api(admin, 'PUT', '/v1/devices/car-1/properties/brightness', { value: 90 });
  expect([moving.status, moving.body.status, moving.body.risk]).toEqual([202, 'approval_required', 'high']);
  const approval = await server.api(admin, 'GET', `/v1/approvals/${moving.body.approval}`);
  expect(approval.body.reason).toBe('risk high while driving is true');
  expect(server.sims.get('car-1')!.state.brightness).toBe(40);
  const registered = await server.api(admin, 'PUT', '/v1/devices/car-2', {
    model: {
      ...vehicle,
      properties: {
        ...vehicle.properties,
        brightness: { ...vehicle.properties.brightness, 'nimbus:riskWhen': [{ property: 'speed', equals: 1, risk: 'high' }] },
      },
    },
  });
  expect([registered.status, registered.body.error.param]).toEqual([400, 'model.properties.brightness.nimbus:riskWhen.0.property']);
});
