/**
 * `/v1/events` shows each key what it could read through the API, and nothing more: twins by the
 * key's device scope, approvals to admins of the tenant, the emergency stop to the whole tenant,
 * nothing of another tenant. A real server, embedded broker and virtual devices; keys by name
 * (test/support/device-server.ts).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startDeviceServer, type DeviceServer } from './support/device-server.js';
import { openEventStream, type EventStream } from './support/event-stream.js';

let server: DeviceServer;
const feeds: Record<string, EventStream> = {};

beforeAll(async () => {
  server = await startDeviceServer();
  await server.addSim('lamp', 'lamp-1');
  await server.addSim('lock', 'lock-1');
  for (const name of ['admin', 'lamps', 'none', 'other']) feeds[name] = await openEventStream(server.url, name);
});
afterAll(async () => {
  for (const feed of Object.values(feeds)) feed.close();
  await server?.close();
});

test('twins, approvals and the emergency stop reach exactly the keys that may see them', async () => {
  expect((await server.call('admin', 'PUT', '/v1/devices/lamp-1/properties/brightness', { value: 30 })).status).toBe(200);
  const lampChange = (event: { type: string; data: { device: string; reported: { brightness?: number } } }) =>
    event.type === 'twin' && event.data.device === 'lamp-1' && event.data.reported.brightness === 30;
  await feeds.admin!.next(lampChange);
  await feeds.lamps!.next(lampChange);

  const unlock = await server.call('admin', 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 5 } });
  expect(unlock.status).toBe(202);
  const approvalId = unlock.body.approval as string;
  const requested = await feeds.admin!.next((event) => event.type === 'approval' && event.data.event === 'approval_requested');
  expect(requested.data).toMatchObject({ approval: approvalId, device: 'lock-1', key: 'key_admin' });

  expect((await server.call('lamps', 'POST', '/v1/estop', { reason: 'test' })).status).toBe(200);
  for (const name of ['admin', 'lamps', 'none']) {
    const stop = await feeds[name]!.next((event) => event.type === 'estop');
    expect(stop.data.event).toBe('emergency_stop');
  }
  // The lock goes offline: its twin changes; the lamp-only key and the key with no devices never see it.
  await server.sims.get('lock-1')!.stop();
  await feeds.admin!.next((event) => event.type === 'twin' && event.data.device === 'lock-1' && event.data.connection !== 'online');
  await feeds.lamps!.next((event) => event.type === 'estop');
  expect(feeds.lamps!.events.filter((event) => event.type === 'twin').every((event) => event.data.device === 'lamp-1')).toBe(true);
  expect(feeds.none!.events.filter((event) => event.type === 'twin')).toEqual([]);
  for (const name of ['lamps', 'none']) expect(feeds[name]!.events.filter((event) => event.type === 'approval' || event.type === 'audit')).toEqual([]);
  // Another tenant's admin saw nothing of acme's.
  expect(feeds.other!.events.map((event) => event.type)).toEqual(['ready']);
});
