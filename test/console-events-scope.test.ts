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

  // Barriers: events reach every feed in the order they were published, so once a feed has an
  // event published after all of the above, anything of the above it was (wrongly) sent is in too.
  // The other tenant's own emergency stop is its barrier; acme's stop cleared is acme's.
  expect((await server.call('other', 'POST', '/v1/estop', { reason: 'barrier' })).status).toBe(200);
  expect((await server.call('admin', 'DELETE', '/v1/estop')).status).toBe(200);
  const cleared = (event: { type: string; data: { event: string } }) => event.type === 'estop' && event.data.event === 'emergency_clear';
  for (const name of ['admin', 'lamps', 'none']) await feeds[name]!.next(cleared);
  await feeds.other!.next((event) => event.type === 'estop');

  const lampsTwins = feeds.lamps!.events.filter((event) => event.type === 'twin');
  expect(lampsTwins.length).toBeGreaterThan(0);
  expect(lampsTwins.every((event) => event.data.device === 'lamp-1')).toBe(true);
  expect(feeds.none!.events.filter((event) => event.type === 'twin')).toEqual([]);
  for (const name of ['lamps', 'none']) expect(feeds[name]!.events.filter((event) => event.type === 'approval' || event.type === 'audit')).toEqual([]);
  // Each acme feed saw acme's stop and its clearing, not the other tenant's stop.
  for (const name of ['admin', 'lamps', 'none'])
    expect(feeds[name]!.events.filter((event) => event.type === 'estop').map((event) => [event.data.event, event.data.key])).toEqual([
      ['emergency_stop', 'key_lamps'],
      ['emergency_clear', 'key_admin'],
    ]);
  // Another tenant's admin saw nothing of acme's: only its own stream's start and its own stop.
  expect(feeds.other!.events.map((event) => event.type)).toEqual(['ready', 'estop']);
  expect(feeds.other!.events[1]!.data).toMatchObject({ event: 'emergency_stop', key: 'key_other', detail: { reason: 'barrier' } });
});
