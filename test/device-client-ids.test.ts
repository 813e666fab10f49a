/**
 * Issue 18, item 1: one device cannot knock another offline. Through a real `nimbus serve` and its
 * embedded broker: a device of another tenant that logs in with its own secret but a victim's
 * client id gets a session of its own, and the victim keeps answering every command; a device
 * reconnecting with its own id still takes over its old session. On an external broker, two
 * servers on one topic root each keep their bridge connected, and a restarted server reuses its
 * client id.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, test } from 'vitest';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { killDeviceProcesses, makeTwoTenants, registerDevice, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { skipWithoutMosquitto, mosquittoUrl, uniqueRoot } from './support/devices.js';
import { callJson } from './support/json-api.js';

afterAll(killDeviceProcesses);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a client was closed by the broker within `ms`. */
function closedWithin(client: MqttClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('the embedded broker', () => {
  let server: DeviceProcess;
  let keys: { operator: string; other: string };
  let evilSecret: string;
  const clients: MqttClient[] = [];
  afterAll(async () => {
    for (const client of clients) await client.endAsync(true).catch(() => undefined);
    await server?.stop();
  });

  test("a device of another tenant presenting a victim's client id does not take over its session", async () => {
    server = await startDeviceProcess(['--mqtt-port', '0']);
    keys = await makeTwoTenants(server.url);
    const { operator, other } = keys;
    const lampSecret = await registerDevice(server.url, operator, 'lamp-1', simCatalog.lamp.model);
    evilSecret = await registerDevice(server.url, other, 'evil-1', simCatalog.lamp.model);
    const lamp = await VirtualDevice.start({
      url: server.mqttUrl!,
      topicRoot: server.topicRoot!,
      tenantId: 'default',
      deviceId: 'lamp-1',
      secret: lampSecret,
      kind: 'lamp',
      protocol: 4,
    });
    // The attacker: its own login, the lamp's client id, reconnecting in a loop as fast as it can.
    let attacks = 0;
    const attacker = await connectAsync(server.mqttUrl!, {
      clientId: 'default.lamp-1',
      username: 'globex/evil-1',
      password: evilSecret,
      protocolVersion: 4,
      reconnectPeriod: 50,
    });
    clients.push(attacker);
    attacker.on('connect', () => (attacks += 1));
    const statuses: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const answer = await callJson(server.url, 'PUT', '/v1/devices/lamp-1/properties/brightness', { value: 10 + index }, operator);
      statuses.push(`${answer.status} ${answer.body.status ?? answer.body.error?.code}`);
      // Let the attacker take another swing between commands.
      attacker.reconnect();
      await sleep(100);
    }
    expect(attacks).toBeGreaterThan(3);
    expect(statuses).toEqual(Array.from({ length: 8 }, () => '200 acked'));
    expect(lamp.received.length).toBe(8);
    const twin = await callJson(server.url, 'GET', '/v1/devices/lamp-1/twin', undefined, operator);
    expect(twin.body.connection).toBe('online');
    const history = await callJson(server.url, 'GET', '/v1/devices/lamp-1/history?limit=200', undefined, operator);
    expect(JSON.stringify(history.body)).not.toContain('lost');
    await lamp.stop();
  }, 60_000);

  test('a device reconnecting with its own client id takes over its own session; a stranger with that id does not', async () => {
    const secret = await registerDevice(server.url, keys.operator, 'lamp-2', simCatalog.lamp.model);
    const login = { username: 'default/lamp-2', password: secret, protocolVersion: 4 as const, reconnectPeriod: 0, clientId: 'lamp-2-id' };
    const first = await connectAsync(server.mqttUrl!, login);
    clients.push(first);
    const firstClosed = closedWithin(first, 3_000);
    const stranger = await connectAsync(server.mqttUrl!, { ...login, username: 'globex/evil-1', password: evilSecret });
    clients.push(stranger);
    expect(await Promise.race([firstClosed, sleep(1_000).then(() => false)])).toBe(false);
    const second = await connectAsync(server.mqttUrl!, login);
    clients.push(second);
    expect(await firstClosed).toBe(true);
    expect(second.connected).toBe(true);
    expect(stranger.connected).toBe(true);
  }, 30_000);
});

describe('two servers on one external broker and one topic root', () => {
  test('each keeps its bridge connected, and a restarted server comes back with its own client id', async (context) => {
    if (await skipWithoutMosquitto()) return context.skip();
    const config = join(mkdtempSync(join(tmpdir(), 'nimbus-wire-config-')), 'nimbus.json');
    writeFileSync(config, JSON.stringify({ devices: { topicRoot: uniqueRoot() } }));
    const options = { environment: { NIMBUS_CONFIG: config, NIMBUS_MQTT_URL: mosquittoUrl, NIMBUS_MQTT_ALLOW_ANONYMOUS: '1' } };
    const first = await startDeviceProcess([], options);
    const second = await startDeviceProcess([], options);
    // mqtt.js reconnects after 1 s: two bridges with one id would kick each other every second.
    await sleep(3_000);
    const clientId = (output: string): string[] => [...output.matchAll(/"clientId":"([^"]+)"/g)].map((match) => match[1]!);
    for (const server of [first, second]) {
      expect(server.output()).not.toMatch(/MQTT bridge (offline|reconnecting)/);
      expect(clientId(server.output())).toHaveLength(1);
    }
    expect(clientId(first.output())[0]).not.toBe(clientId(second.output())[0]);
    await first.stop();
    const again = await startDeviceProcess([], { ...options, home: first.home });
    expect(clientId(again.output())).toEqual(clientId(first.output()));
    await sleep(1_500);
    for (const server of [again, second]) expect(server.output()).not.toMatch(/MQTT bridge (offline|reconnecting)/);
    await Promise.all([again.stop(), second.stop()]);
  }, 60_000);
});
