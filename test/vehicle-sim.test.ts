/**
 * `nimbus sim --vehicle` (issue 23, item 1) as a real process against a `nimbus serve` process and
 * its embedded broker: comfort functions are actions the assistant's key can call; opening a
 * window while the car drives waits for an approval that only the car's own confirm control (a
 * key of its own, not the assistant's) grants; the driving state changes only at the car; in local
 * mode the person at the console approves, recorded as self_approved_local.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, type SafetyServer } from './support/safety-rig.js';
import { startVehicleSim, type VehicleSim } from './support/vehicle-sim.js';

let server: SafetyServer;
let operator: string;
let assistant: string;
let car: VehicleSim;

const twin = async () => (await server.api(operator, 'GET', `/v1/devices/${car.carId}/twin`)).body;
const act = (name: string, input: unknown, approval?: string) =>
  server.api(assistant, 'POST', `/v1/devices/${car.carId}/actions/${name}`, { input, ...(approval ? { approval } : {}) });

beforeAll(async () => {
  server = await startSafetyServer();
  operator = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  car = await startVehicleSim(server.url, operator);
  assistant = await server.key(operator, 'in-car-assistant', { inference: true, devices: [car.carId] });
  await eventually(async () => expect(await twin()).toMatchObject({ connection: 'online', reported: { driving: false, gear: 'P' } }));
}, 60_000);
afterAll(async () => {
  await car?.stop();
  await server?.stop();
  killNimbusProcesses();
});

test('comfort functions are actions of the assistant; driving is read-only', async () => {
  expect((await act('set_climate', { target_celsius: 22.5, fan: 3 })).body).toMatchObject({ status: 'acked', risk: 'low', output: { target_celsius: 22.5 } });
  expect((await act('set_seat_heating', { seat: 'driver', level: 2 })).body).toMatchObject({ status: 'acked', state_after: { seat_heating: { driver: 2 } } });
  expect((await act('set_media', { source: 'bluetooth', volume: 12 })).body).toMatchObject({ status: 'acked' });
  expect((await act('navigate_to', { destination: 'Central Station' })).body).toMatchObject({ status: 'acked', output: { navigation: 'guiding' } });
  expect((await act('set_window', { window: 'rear_left', open_percent: 20 })).body).toMatchObject({ status: 'acked', risk: 'low' });
  const out = await act('set_climate', { target_celsius: 35 });
  expect(out.status).toBe(400);
  const speed = await server.api(assistant, 'PUT', `/v1/devices/${car.carId}/properties/speed_kmh`, { value: 200 });
  expect(speed.status).toBe(400);
  expect((await server.api(assistant, 'POST', `/v1/devices/${car.carId}/actions/brake`, { input: {} })).status).toBe(404);
});

test('a window while driving waits for the car confirm control, a principal separate from the assistant', async () => {
  const confirmKey = (await car.waitFor(/confirm control: its own key (key_\w+)/))[1]!;
  car.type('drive 80');
  await eventually(async () => expect((await twin()).reported).toMatchObject({ driving: true, speed_kmh: 80, gear: 'D' }));
  const asked = await act('set_window', { window: 'front_left', open_percent: 30 });
  expect([asked.status, asked.body.status, asked.body.risk]).toEqual([202, 'approval_required', 'high']);
  const id = asked.body.approval as string;
  expect((await server.api(assistant, 'POST', `/v1/approvals/${id}/grant`)).status).toBe(403);
  await car.waitFor(new RegExp(`screen: confirm set_window .*type 'confirm ${id}'`));
  car.type('confirm');
  await car.waitFor(new RegExp(`confirmed ${id}`));
  const approval = (await server.api(operator, 'GET', `/v1/approvals/${id}`)).body;
  expect(approval).toMatchObject({ status: 'granted', decided_by: `key:${confirmKey}`, reason: 'risk high while driving is true' });
  expect(approval.requested_by).not.toBe(confirmKey);
  // The confirm control's key decides this car's approvals and can do nothing else.
  expect((await server.api(operator, 'GET', `/v1/keys/${confirmKey}`)).body.scopes).toMatchObject({
    inference: false,
    admin: false,
    devices: [],
    approvals: [car.carId],
  });
  expect((await twin()).reported.windows.front_left).toBe(0);
  expect((await act('set_window', { window: 'front_left', open_percent: 30 }, id)).body).toMatchObject({
    status: 'acked',
    state_after: { windows: { front_left: 30 } },
  });
  // Denied at the car: the window stays as it is.
  const again = await act('set_window', { window: 'all', open_percent: 0 });
  car.type(`deny ${again.body.approval}`);
  await car.waitFor(new RegExp(`denied ${again.body.approval}`));
  expect((await act('set_window', { window: 'all', open_percent: 0 }, again.body.approval)).body).toMatchObject({ error: { code: 'permission_denied' } });
  car.type('park');
  await eventually(async () => expect((await twin()).reported).toMatchObject({ driving: false }));
  expect((await act('set_window', { window: 'all', open_percent: 0 })).body).toMatchObject({ status: 'acked', risk: 'low' });
});

test('the confirm key is revoked when the sim stops', async () => {
  const confirmKey = (await car.waitFor(/confirm control: its own key (key_\w+)/))[1]!;
  expect(await car.stop()).toBe(0);
  expect((await server.api(operator, 'GET', `/v1/keys/${confirmKey}`)).body.revoked_at).not.toBeNull();
});

test('in local mode the person at the car console is the one principal, recorded as self_approved_local', async () => {
  const local = await startSafetyServer();
  const localCar = await startVehicleSim(local.url, undefined, 'solo');
  try {
    expect(localCar.output()).not.toMatch(/its own key/);
    localCar.type('drive 30');
    await eventually(async () => expect((await local.api(undefined, 'GET', `/v1/devices/${localCar.carId}/twin`)).body.reported.driving).toBe(true));
    const input = { window: 'rear_right', open_percent: 50 };
    const asked = await local.api(undefined, 'POST', `/v1/devices/${localCar.carId}/actions/set_window`, { input });
    expect(asked.status).toBe(202);
    localCar.type('confirm');
    await localCar.waitFor(new RegExp(`confirmed ${asked.body.approval}`));
    expect((await local.api(undefined, 'GET', `/v1/approvals/${asked.body.approval}`)).body.decided_by).toBe('self_approved_local');
    const done = await local.api(undefined, 'POST', `/v1/devices/${localCar.carId}/actions/set_window`, { input, approval: asked.body.approval });
    expect(done.body).toMatchObject({ status: 'acked', state_after: { windows: { rear_right: 50 } } });
  } finally {
    await localCar.stop();
    await local.stop();
  }
}, 60_000);
