/**
 * A device command over REST with an `Idempotency-Key`, as its client sees it, through the real
 * HTTP API, a SQLite store, the embedded MQTT broker and a virtual device that answers when the
 * test says: a retry sent while the first command still runs waits for it and gets its answer,
 * and the device acts once (the mechanism chat, responses and MCP share). The answer is kept as
 * its body alone, as before, so a key another control plane holds, of this version or the
 * previous one, is waited for and replayed too.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { canonicalJson, sha256 } from '../src/devices/canonical-json.js';
import type { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { eventually } from './support/devices.js';
import { startDeviceServer, type DeviceServer } from './support/device-server.js';

let server: DeviceServer;
let lamp: VirtualDevice;

beforeAll(async () => {
  server = await startDeviceServer();
  lamp = await server.addSim('lamp', 'lamp-1', 'never');
  await eventually(() => expect(server.devices.gateway.twin('acme', 'lamp-1').connection).toBe('online'));
});
afterAll(async () => server?.close());

const path = '/v1/devices/lamp-1/properties/brightness';

function put(key: string, value: number): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'PUT',
    headers: { authorization: 'Bearer admin', 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ value }),
  });
}

test('a retry sent while the first command still runs waits for it and gets its answer; the device acts once', async () => {
  const before = lamp.received.length;
  const first = put('dim-while-running', 40);
  await eventually(() => expect(lamp.received.length).toBe(before + 1));
  // The command is on the device, unanswered: the retry is in flight while it finishes.
  const retried = put('dim-while-running', 40);
  let waiting = true;
  void retried.finally(() => (waiting = false));
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(waiting).toBe(true);
  await lamp.answerLate(lamp.received.at(-1)!.id, { brightness: 40 });
  const [answered, replayed] = await Promise.all([first, retried]);
  const body = await answered.json();
  expect([answered.status, body]).toEqual([
    200,
    expect.objectContaining({ object: 'device.action', status: 'acked', command: expect.stringMatching(/^cmd_/) }),
  ]);
  expect([replayed.status, replayed.headers.get('idempotent-replayed'), await replayed.json()]).toEqual([200, 'true', body]);
  expect(lamp.received.length - before).toBe(1);
  // Kept as the body alone, as control planes of the previous version read it.
  const held = await server.store.devices.claimIdempotency({
    tenantId: 'acme',
    keySubject: 'key:key_admin',
    key: 'dim-while-running',
    requestHash: 'another',
    state: 'running',
    status: null,
    body: null,
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  });
  expect(held).toMatchObject({ state: 'done', status: 200, body });
});

test('a key another control plane holds is waited for, and its answer, stored the previous version’s way, replayed without acting', async () => {
  const before = lamp.received.length;
  const now = Date.now();
  const requestHash = sha256(canonicalJson({ method: 'PUT', url: path, body: { value: 55 } }));
  const key = { tenantId: 'acme', keySubject: 'key:key_admin', key: 'dim-elsewhere' };
  expect(
    await server.store.devices.claimIdempotency({ ...key, requestHash, state: 'running', status: null, body: null, createdAt: now, expiresAt: now + 60_000 }),
  ).toBeUndefined();
  const stored = {
    object: 'device.action',
    device: 'lamp-1',
    kind: 'set',
    name: 'brightness',
    input: 55,
    status: 'acked',
    message: 'acked',
    command: 'cmd_elsewhere',
  };
  const retried = put('dim-elsewhere', 55);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await server.store.devices.finishIdempotency(key.tenantId, key.keySubject, key.key, 200, stored);
  const replayed = await retried;
  expect([replayed.status, replayed.headers.get('idempotent-replayed'), await replayed.json()]).toEqual([200, 'true', stored]);
  expect(lamp.received.length).toBe(before);
});
