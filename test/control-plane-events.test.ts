/**
 * The live feed across control planes, as real processes: two `nimbus serve` on one fresh
 * PostgreSQL database (each with stories260K and its own embedded broker), a `/v1/events` feed open
 * on each. An approval asked for through one is seen on the other's feed and granted there; the
 * grant is seen back on the first; the emergency stop set through one and cleared through the
 * other shows on both; a request finished on one shows on the other's feed. Each within 1 s
 * (PostgreSQL LISTEN/NOTIFY, decision 0016); the times are printed.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { killDeviceProcesses, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { openEventStream, type EventStream, type ReceivedEvent } from './support/event-stream.js';
import { callJson } from './support/json-api.js';
import { waitReady } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
let database: { url: string; drop(): Promise<void> } | undefined;
let a: DeviceProcess;
let b: DeviceProcess;
const feeds: EventStream[] = [];
const times: Record<string, number> = {};

beforeAll(async () => {
  if (skip || (await skipWithoutPostgres())) return;
  database = await createTestDatabase();
  const start = (): Promise<DeviceProcess> =>
    startDeviceProcess(['--model', storiesPath!, '--log-level', 'warn'], { environment: { NIMBUS_DATABASE_URL: database!.url, NIMBUS_MQTT_PORT: '0' } });
  a = await start();
  b = await start();
  await Promise.all([waitReady(a.url), waitReady(b.url)]);
  feeds.push(await openEventStream(a.url), await openEventStream(b.url));
}, 120_000);

afterAll(async () => {
  for (const feed of feeds) feed.close();
  if (Object.keys(times).length > 0) console.log('live events across two control planes (ms from the call returning to the event on the other feed):', times);
  killDeviceProcesses();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database?.drop();
});

/** Milliseconds from now until `feed` has an event that matches (at most 1 s). */
async function seenWithin(feed: EventStream, match: (event: ReceivedEvent) => boolean): Promise<{ event: ReceivedEvent; ms: number }> {
  const started = performance.now();
  const event = await feed.next(match, 1000);
  return { event, ms: Math.round(performance.now() - started) };
}

test('approvals, the emergency stop and finished requests reach the other control plane within 1 s', async (context) => {
  if (!database) return context.skip();
  const [feedA, feedB] = feeds as [EventStream, EventStream];
  expect((await callJson(b.url, 'PUT', '/v1/devices/lock-1', { model: simCatalog.lock.model })).status).toBeLessThan(300);

  // An approval asked for through b is on a's feed; granted through a (the console, local mode), the grant is on b's.
  const unlock = await callJson(b.url, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 5 } });
  expect(unlock.status).toBe(202);
  const approval = unlock.body.approval as string;
  const requested = await seenWithin(feedA, (event) => event.type === 'approval' && event.data.event === 'approval_requested');
  expect(requested.event.data).toMatchObject({ approval, device: 'lock-1' });
  times.approvalRequested = requested.ms;
  expect((await callJson(a.url, 'POST', `/v1/approvals/${approval}/grant`, { via: 'console' })).status).toBe(200);
  const granted = await seenWithin(feedB, (event) => event.type === 'approval' && event.data.event === 'approval_granted');
  expect(granted.event.data).toMatchObject({ approval });
  times.approvalGranted = granted.ms;
  expect((await callJson(b.url, 'GET', `/v1/approvals/${approval}`)).body).toMatchObject({ status: 'granted' });

  // The emergency stop set through a shows on b's feed; cleared through b, on a's.
  expect((await callJson(a.url, 'POST', '/v1/estop', { reason: 'drill' })).status).toBe(200);
  const stopped = await seenWithin(feedB, (event) => event.type === 'estop' && event.data.event === 'emergency_stop');
  times.estopSet = stopped.ms;
  expect((await callJson(b.url, 'DELETE', '/v1/estop')).status).toBe(200);
  const cleared = await seenWithin(feedA, (event) => event.type === 'estop' && event.data.event === 'emergency_clear');
  times.estopCleared = cleared.ms;

  // A request finished on a is on b's feed.
  const models = await callJson(a.url, 'GET', '/v1/models');
  const model = (models.body.data as Array<{ id: string }>)[0]!.id;
  const chat = await callJson(a.url, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4 });
  expect(chat.status).toBe(200);
  const finished = await seenWithin(feedB, (event) => event.type === 'request' && event.data.id === chat.body.id);
  times.requestFinished = finished.ms;

  // Each event shows once on each feed: nothing echoed back.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const feed of [feedA, feedB]) {
    expect(feed.events.filter((event) => event.type === 'approval' && event.data.event === 'approval_granted')).toHaveLength(1);
    expect(feed.events.filter((event) => event.type === 'request' && event.data.id === chat.body.id)).toHaveLength(1);
  }
}, 60_000);

/** Milliseconds until `check` holds, polling every 20 ms for at most 1 s. */
async function heldWithin(check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > 1000) throw new Error('not within 1 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Math.round(performance.now() - started);
}

test('a device registered, changed and removed through one control plane is so through the other within 1 s', async (context) => {
  if (!database) return context.skip();
  const status = async (url: string): Promise<number> => (await callJson(url, 'GET', '/v1/devices/lamp-7')).status;
  expect(await status(b.url)).toBe(404);
  expect((await callJson(a.url, 'PUT', '/v1/devices/lamp-7', { model: simCatalog.lamp.model })).status).toBeLessThan(300);
  times.deviceRegistered = await heldWithin(async () => (await status(b.url)) === 200);
  expect((await callJson(b.url, 'GET', '/v1/devices')).body.data.map((device: { id: string }) => device.id)).toContain('lamp-7');

  // A changed model (the thermostat's, under the lamp's id) is what the other plane reads next.
  expect((await callJson(a.url, 'PUT', '/v1/devices/lamp-7', { model: simCatalog.thermostat.model })).status).toBe(200);
  const title = async (): Promise<unknown> => (await callJson(b.url, 'GET', '/v1/devices/lamp-7')).body.title;
  times.deviceChanged = await heldWithin(async () => (await title()) === simCatalog.thermostat.model.title);

  expect((await callJson(a.url, 'DELETE', '/v1/devices/lamp-7')).status).toBeLessThan(300);
  times.deviceRemoved = await heldWithin(async () => (await status(b.url)) === 404);
}, 30_000);
