/**
 * Issue 25: twin writes deduplicated by device and version across control planes. Two real `nimbus
 * serve` on one fresh PostgreSQL database share the Mosquitto at 127.0.0.1:1883 (a topic root of
 * their own); each bridge sees every device message. A lamp reports, is set through one control
 * plane and then through the other, and reports by itself; a lock sends two events. The history
 * holds one row per change and per event, numbered once, and both control planes read the same
 * twin. Without the fix each control plane appended its own rows, and the one that sent a command
 * numbered every later change one higher than the other.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { killDeviceProcesses, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { mosquittoUrl, skipWithoutMosquitto, uniqueRoot } from './support/devices.js';
import { callJson } from './support/json-api.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';

let database: { url: string; drop(): Promise<void> } | undefined;
let planes: DeviceProcess[] = [];
const devices: VirtualDevice[] = [];
const topicRoot = uniqueRoot();

beforeAll(async () => {
  if ((await skipWithoutPostgres()) || (await skipWithoutMosquitto())) return;
  database = await createTestDatabase();
  const config = join(mkdtempSync(join(tmpdir(), 'nimbus-twins-config-')), 'nimbus.json');
  writeFileSync(config, JSON.stringify({ devices: { topicRoot } }));
  const environment = { NIMBUS_DATABASE_URL: database.url, NIMBUS_CONFIG: config, NIMBUS_MQTT_URL: mosquittoUrl, NIMBUS_MQTT_ALLOW_ANONYMOUS: '1' };
  // One first, so it runs the migrations; then the other.
  planes = [await startDeviceProcess([], { environment })];
  planes.push(await startDeviceProcess([], { environment }));
}, 120_000);

afterAll(async () => {
  for (const device of devices) await device.stop().catch(() => undefined);
  killDeviceProcesses();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database?.drop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

type Twin = { version: number; reported: Record<string, unknown>; desired: Record<string, unknown>; connection: string };
type Entry = { version: number; kind: string; data: Record<string, unknown> };

const twin = async (url: string, id: string): Promise<Twin> => {
  const body = (await callJson(url, 'GET', `/v1/devices/${id}/twin`)).body as Twin;
  return { version: body.version, reported: body.reported, desired: body.desired, connection: body.connection };
};
const history = async (url: string, id: string): Promise<Entry[]> => (await callJson(url, 'GET', `/v1/devices/${id}/history?limit=500`)).body.data as Entry[];

/** Registers through the first control plane, waits for the second to know it, and connects the device. */
async function connect(kind: 'lamp' | 'lock', id: string): Promise<VirtualDevice> {
  const [a, b] = planes as [DeviceProcess, DeviceProcess];
  const registered = await callJson(a.url, 'PUT', `/v1/devices/${id}`, { model: simCatalog[kind].model });
  expect(registered.status).toBe(201);
  await until(`${id} known to the second control plane`, async () => (await callJson(b.url, 'GET', `/v1/devices/${id}`)).status === 200);
  const device = await VirtualDevice.start({ url: mosquittoUrl, topicRoot, tenantId: 'default', deviceId: id, secret: registered.body.secret as string, kind });
  devices.push(device);
  return device;
}

test('a device message is stored once and numbered alike by two control planes; both read the same twin', async (context) => {
  if (!database) return context.skip();
  const [a, b] = planes as [DeviceProcess, DeviceProcess];
  const lamp = await connect('lamp', 'lamp-1');
  const online = async (url: string): Promise<boolean> => (await twin(url, 'lamp-1')).connection === 'online';
  await until('the lamp online on both', async () => (await online(a.url)) && (await online(b.url)));

  // Set through a, then through b; the lamp also reports a change by itself in between.
  const setA = await callJson(a.url, 'PUT', '/v1/devices/lamp-1/properties/brightness', { value: 80 });
  expect([setA.status, setA.body.status]).toEqual([200, 'acked']);
  await lamp.report({ brightness: 30 });
  const setB = await callJson(b.url, 'PUT', '/v1/devices/lamp-1/properties/brightness', { value: 60 });
  expect([setB.status, setB.body.status]).toEqual([200, 'acked']);
  await lamp.report({ on: true });

  const lock = await connect('lock', 'lock-1');
  await until(
    'the lock online on both',
    async () => (await twin(a.url, 'lock-1')).connection === 'online' && (await twin(b.url, 'lock-1')).connection === 'online',
  );
  await lock.emit('visitor_message', 'hello');
  await lock.emit('visitor_message', 'hello');

  const settled = async (url: string): Promise<boolean> => {
    const lampTwin = await twin(url, 'lamp-1');
    return lampTwin.reported.on === true && lampTwin.reported.brightness === 60;
  };
  await until('the last report on both', async () => (await settled(a.url)) && (await settled(b.url)));
  // Both flush (every 50 ms), then the store holds what both wrote.
  await sleep(500);

  const [twinA, twinB] = [await twin(a.url, 'lamp-1'), await twin(b.url, 'lamp-1')];
  expect(twinB).toEqual(twinA);
  expect(twinA).toMatchObject({ reported: { on: true, brightness: 60 }, desired: { brightness: 60 }, connection: 'online' });

  const entries = await history(a.url, 'lamp-1');
  expect(await history(b.url, 'lamp-1')).toEqual(entries);
  const changes = entries.filter((entry) => entry.kind !== 'event').sort((x, y) => x.version - y.version);
  // online; reported {on, brightness 50}; desired 80; reported 80; reported 30; desired 60; reported 60; reported on.
  expect(changes.map((entry) => [entry.kind, entry.data])).toEqual([
    ['connection', { connection: 'online' }],
    ['reported', { on: false, brightness: 50 }],
    ['desired', { brightness: 80 }],
    ['reported', { brightness: 80 }],
    ['reported', { brightness: 30 }],
    ['desired', { brightness: 60 }],
    ['reported', { brightness: 60 }],
    ['reported', { on: true }],
  ]);
  expect(changes.map((entry) => entry.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(twinA.version).toBe(8);

  // Two events at one version: two rows, not four.
  await until('the events stored', async () => (await history(a.url, 'lock-1')).filter((entry) => entry.kind === 'event').length >= 2);
  await sleep(300);
  expect((await history(b.url, 'lock-1')).filter((entry) => entry.kind === 'event')).toHaveLength(2);
  expect(await twin(b.url, 'lock-1')).toEqual(await twin(a.url, 'lock-1'));
}, 90_000);
