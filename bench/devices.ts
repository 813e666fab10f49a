/**
 * Devices: command round trip (HTTP API -> policy, audit, store -> MQTT -> device ack -> HTTP
 * answer) p50/p99, and telemetry ingest (reported-state messages per second into twins) from
 * 1,000 simulated devices; on the embedded broker (aedes) and on Mosquitto at 127.0.0.1:1883.
 * Each figure is a ratio against a raw MQTT baseline measured in this script on the same broker:
 * a publish -> subscribe -> reply round trip between two plain clients, and the publish ->
 * subscribe rate of the same 1,000 connections to a plain subscriber.
 *
 *   npx tsx bench/devices.ts [--commands 300] [--devices 1000] [--messages 20] [--skip-mosquitto]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { IClientOptions, MqttClient } from 'mqtt';
import { installDevices } from '../src/api/install-devices.js';
import { buildServer } from '../src/api/server.js';
import { ModelCatalog } from '../src/core/model-catalog.js';
import { defaultDeviceSettings } from '../src/devices/device-settings.js';
import { connectMqtt } from '../src/devices/mqtt/connect-mqtt.js';
import { startEmbeddedBroker } from '../src/devices/mqtt/embedded-broker.js';
import { TopicTree } from '../src/devices/mqtt/topics.js';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { startDevices, type BrokerChoice, type RunningDevices } from '../src/devices/start-devices.js';
import { newToolSession } from '../src/devices/tool-session.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { percentile, report } from './support.js';

const { values } = parseArgs({
  options: {
    commands: { type: 'string', default: '300' },
    devices: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '20' },
    'skip-mosquitto': { type: 'boolean', default: false },
  },
});
const commands = Number(values.commands);
const deviceCount = Number(values.devices);
const messagesPerDevice = Number(values.messages);
const tenantId = 'default';
const settings = { ...defaultDeviceSettings, rateLimit: { perMinute: 1e9, burst: 1e9 }, commandTimeoutMs: 30_000 };

/** A broker to measure on: where it is, and a login that may publish and subscribe anywhere. */
interface BrokerUnderTest {
  name: string;
  url: string;
  login: { username?: string; password?: string };
  protocolVersion: 4 | 5;
  choice: BrokerChoice;
  /** Lets the broker check device logins against this gateway (the embedded broker does). */
  trust(devices: RunningDevices): void;
  close(): Promise<void>;
}

async function embeddedBroker(): Promise<BrokerUnderTest> {
  // One aedes instance for both the baseline and Nimbus; device logins are checked by the gateway once it exists.
  let devices: RunningDevices | undefined;
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    topics: new TopicTree(`bench-${process.pid}`),
    authenticate: (device, secret) => devices?.gateway.authenticate(device, secret) ?? false,
  });
  const login = broker.serviceLogin;
  return {
    name: 'embedded aedes (MQTT 3.1.1)',
    url: broker.url,
    login,
    protocolVersion: 4,
    choice: { kind: 'external', url: broker.url, protocol: 4, ...login },
    trust: (running) => (devices = running),
    close: () => broker.close(),
  };
}

async function mosquitto(): Promise<BrokerUnderTest | undefined> {
  const listening = await new Promise<boolean>((resolve) => {
    const socket = connectTcp(1883, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (!listening) return undefined;
  const url = 'mqtt://127.0.0.1:1883';
  return {
    name: 'Mosquitto (MQTT 5)',
    url,
    login: {},
    protocolVersion: 5,
    choice: { kind: 'external', url, allowAnonymous: true },
    trust: () => {},
    close: async () => {},
  };
}

/** Every client of the benchmark, baseline or not, connects the way Nimbus and its devices do (no Nagle). */
function connect(url: string, options: IClientOptions, version: 4 | 5): Promise<MqttClient> {
  return connectMqtt(url, options, version);
}

/** Raw MQTT request/reply between two plain clients: the floor under any command round trip. */
async function rawRoundTrips(broker: BrokerUnderTest, count: number): Promise<number[]> {
  const options = { ...broker.login, reconnectPeriod: 0 };
  const requester = await connect(broker.url, options, broker.protocolVersion);
  const responder = await connect(broker.url, options, broker.protocolVersion);
  const base = `rawbench-${process.pid}`;
  await responder.subscribeAsync(`${base}/req`, { qos: 1 });
  responder.on('message', (_topic, payload) => void responder.publishAsync(`${base}/rep`, payload, { qos: 1 }));
  await requester.subscribeAsync(`${base}/rep`, { qos: 1 });
  const waiting = new Map<string, () => void>();
  requester.on('message', (_topic, payload) => waiting.get(payload.toString())?.());
  const latencies: number[] = [];
  for (let index = 0; index < count + 20; index += 1) {
    const id = `m${index}`;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      waiting.set(id, resolve);
      void requester.publishAsync(`${base}/req`, id, { qos: 1 });
    });
    if (index >= 20) latencies.push(performance.now() - started);
  }
  await requester.endAsync();
  await responder.endAsync();
  return latencies;
}

/** Nimbus in this process: HTTP API, SQLite, the gateway on the broker under test. */
async function startNimbusOn(broker: BrokerUnderTest) {
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-bench-devices-'));
  const store = await openSqliteStore(join(folder, 'nimbus.db'));
  const catalog = new ModelCatalog([]);
  const { app, context } = buildServer({ catalog, engines: [], store, bodyLimit: 1 << 20, logLevel: 'warn' });
  const root = `bench-${process.pid}`;
  const devices = await startDevices({ store: store.devices, broker: broker.choice, topicRoot: root, settings });
  broker.trust(devices);
  installDevices(app, context, devices, 'bench');
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    root,
    devices,
    async close() {
      await app.close();
      await devices.close();
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Command round trips through the HTTP API to a virtual lamp and back. */
async function apiRoundTrips(
  nimbus: Awaited<ReturnType<typeof startNimbusOn>>,
  broker: BrokerUnderTest,
  count: number,
): Promise<{ api: number[]; direct: number[] }> {
  const { secret } = await nimbus.devices.admin.register(
    { tenantId, keyId: null, local: true, scopes: { inference: true, admin: true, models: '*', devices: '*' } },
    'bench-lamp',
    simCatalog.lamp.model,
    {},
  );
  const lamp = await VirtualDevice.start({ url: broker.url, topicRoot: nimbus.root, tenantId, deviceId: 'bench-lamp', secret: secret!, kind: 'lamp' });
  while (nimbus.devices.gateway.twin(tenantId, 'bench-lamp').connection !== 'online') await new Promise((resolve) => setTimeout(resolve, 10));
  // The same commands straight into the gateway (no HTTP), to show where the time goes.
  const session = newToolSession({ tenantId, keyId: null, local: true, scopes: { inference: true, admin: true, models: '*', devices: '*' } }, 'rest');
  const direct: number[] = [];
  for (let index = 0; index < count + 20; index += 1) {
    const started = performance.now();
    const report = await nimbus.devices.gateway.propose(session, { deviceId: 'bench-lamp', kind: 'set', name: 'brightness', input: index % 101 });
    if (report.status !== 'acked') throw new Error(`command ${index} was not acked: ${report.message}`);
    if (index >= 20) direct.push(performance.now() - started);
  }
  const latencies: number[] = [];
  for (let index = 0; index < count + 20; index += 1) {
    const started = performance.now();
    const response = await fetch(`${nimbus.url}/v1/devices/bench-lamp/properties/brightness`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: index % 101 }),
    });
    const body = (await response.json()) as { status?: string };
    if (body.status !== 'acked') throw new Error(`command ${index} was not acked: ${JSON.stringify(body)}`);
    if (index >= 20) latencies.push(performance.now() - started);
  }
  await lamp.stop();
  return { api: latencies, direct };
}

/** Connects `count` clients: devices with their own logins, or plain clients with the broker's login (the baseline). */
async function connectFleet(
  nimbus: Awaited<ReturnType<typeof startNimbusOn>>,
  broker: BrokerUnderTest,
  count: number,
  kind: 'device' | 'raw',
): Promise<Array<{ id: string; client: MqttClient }>> {
  const principal = { tenantId, keyId: null, local: true, scopes: { inference: true, admin: true, models: '*' as const, devices: '*' as const } };
  const fleet: Array<{ id: string; client: MqttClient }> = [];
  for (let start = 0; start < count; start += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - start) }, async (_, offset) => {
        const id = `${kind}-${start + offset}`;
        const login =
          kind === 'raw'
            ? broker.login
            : { username: `${tenantId}/${id}`, password: (await nimbus.devices.admin.register(principal, id, simCatalog.lamp.model, {})).secret! };
        const client = await connect(broker.url, { ...login, clientId: `${tenantId}.${id}.${process.pid}`, reconnectPeriod: 0 }, 4);
        return { id, client };
      }),
    );
    fleet.push(...batch);
  }
  return fleet;
}

/**
 * Every client publishes `messages` reported states (each a change), round-robin, keeping at most
 * `window` messages published but not yet delivered (brokers drop past their queues: Mosquitto
 * keeps 1,000 per subscriber by default). Resolves when `delivered()` reaches the total, or when
 * it has not grown for 3 s: messages delivered per second, and how many were lost.
 */
async function blast(
  fleet: Array<{ id: string; client: MqttClient }>,
  messages: number,
  topic: (id: string) => string,
  delivered: () => number,
): Promise<{ rate: number; lost: number }> {
  const window = 500;
  const total = fleet.length * messages;
  const base = delivered();
  const started = performance.now();
  let sent = 0;
  for (let round = 0; round < messages; round += 1) {
    for (const { id, client } of fleet) {
      while (sent - (delivered() - base) >= window) await new Promise((resolve) => setImmediate(resolve));
      void client.publishAsync(topic(id), JSON.stringify({ on: round % 2 === 0, brightness: round % 101 }), { qos: 1 });
      sent += 1;
    }
  }
  let last = { count: delivered() - base, at: performance.now() };
  while (last.count < total) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const count = delivered() - base;
    if (count > last.count) last = { count, at: performance.now() };
    else if (performance.now() - last.at > 3000) break;
  }
  return { rate: last.count / ((last.at - started) / 1000), lost: total - last.count };
}

async function measure(broker: BrokerUnderTest): Promise<void> {
  const nimbus = await startNimbusOn(broker);
  try {
    const raw = await rawRoundTrips(broker, commands);
    const { api, direct } = await apiRoundTrips(nimbus, broker, commands);
    const [rawP50, rawP99, apiP50, apiP99] = [percentile(raw, 0.5), percentile(raw, 0.99), percentile(api, 0.5), percentile(api, 0.99)];
    report(`devices command round trip, ${broker.name}`, {
      raw_mqtt_p50_ms: rawP50,
      raw_mqtt_p99_ms: rawP99,
      gateway_p50_ms: percentile(direct, 0.5),
      gateway_p99_ms: percentile(direct, 0.99),
      api_p50_ms: apiP50,
      api_p99_ms: apiP99,
      ratio_p50: apiP50 / rawP50,
      ratio_p99: apiP99 / rawP99,
      commands,
    });

    // Baseline: as many plain connections publish the same messages to a plain subscriber, outside the topics Nimbus reads.
    const rawFleet = await connectFleet(nimbus, broker, deviceCount, 'raw');
    const counter = await connect(broker.url, { ...broker.login, reconnectPeriod: 0 }, 4);
    const rawRoot = `rawingest-${process.pid}`;
    await counter.subscribeAsync(`${rawRoot}/#`, { qos: 1 });
    let received = 0;
    counter.on('message', () => (received += 1));
    const total = deviceCount * messagesPerDevice;
    const rawIngest = await blast(
      rawFleet,
      messagesPerDevice,
      (id) => `${rawRoot}/${id}`,
      () => received,
    );
    await counter.endAsync();
    await Promise.all(rawFleet.map(({ client }) => client.endAsync()));
    const fleet = await connectFleet(nimbus, broker, deviceCount, 'device');
    const { gateway } = nimbus.devices;
    const ingest = await blast(
      fleet,
      messagesPerDevice,
      (id) => `${nimbus.root}/${tenantId}/devices/${id}/reported`,
      () => gateway.telemetry.applied,
    );
    const flushStarted = performance.now();
    await gateway.flush();
    report(`devices telemetry ingest, ${broker.name}`, {
      raw_mqtt_msgs_per_s: rawIngest.rate,
      twin_ingest_msgs_per_s: ingest.rate,
      ratio: ingest.rate / rawIngest.rate,
      raw_lost: rawIngest.lost,
      ingest_lost: ingest.lost,
      devices: fleet.length,
      messages: total,
      final_flush_ms: performance.now() - flushStarted,
    });
    await Promise.all(fleet.map(({ client }) => client.endAsync()));
  } finally {
    await nimbus.close();
  }
}

const brokers = [await embeddedBroker(), values['skip-mosquitto'] ? undefined : await mosquitto()];
if (!values['skip-mosquitto'] && !brokers[1]) console.log('devices: no broker at 127.0.0.1:1883 (Mosquitto): its figures are skipped.');
for (const broker of brokers) {
  if (!broker) continue;
  try {
    await measure(broker);
  } finally {
    await broker.close();
  }
}
