/**
 * Starts device support: the gateway over the store, then either the embedded broker (aedes on
 * a loopback port by default) or a connection to an external broker by URL, then the bridge that
 * joins them. main.ts calls it once; `close` undoes it in reverse order.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { DeviceStore } from '../core/device-store.js';
import { DeviceAdmin } from './device-admin.js';
import { DeviceGateway } from './device-gateway.js';
import { silentLogger, type DeviceLogger } from './device-logger.js';
import type { DeviceSettings } from './device-settings.js';
import type { MqttProtocol } from './mqtt/connect-mqtt.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './mqtt/embedded-broker.js';
import { MqttBridge } from './mqtt/mqtt-bridge.js';
import { TopicTree } from './topics.js';

/** Where devices connect. */
export type BrokerChoice =
  { kind: 'embedded'; host: string; port: number } | { kind: 'external'; url: string; protocol?: MqttProtocol; username?: string; password?: string };

export interface StartDevicesOptions {
  store: DeviceStore;
  broker: BrokerChoice;
  topicRoot: string;
  settings: DeviceSettings;
  /** The bridge's MQTT client id; its persistent session keeps device answers while Nimbus is away. */
  clientId?: string;
  persistentSession?: boolean;
  clock?: Clock;
  logger?: DeviceLogger;
}

/** Device support, running. */
export interface RunningDevices {
  gateway: DeviceGateway;
  admin: DeviceAdmin;
  /** What devices connect to, as `GET /v1/mqtt` tells them. */
  broker: { url: string; embedded: boolean; protocolVersion: number; topicRoot: string };
  close(): Promise<void>;
}

export async function startDevices(options: StartDevicesOptions): Promise<RunningDevices> {
  const logger = options.logger ?? silentLogger;
  const topics = new TopicTree(options.topicRoot);
  const gateway = new DeviceGateway({ store: options.store, topics, settings: options.settings, logger, ...(options.clock ? { clock: options.clock } : {}) });
  await gateway.load();
  let embedded: EmbeddedBroker | undefined;
  if (options.broker.kind === 'embedded') {
    // A new embedded broker knows no one yet: connections stay unknown until each device announces itself.
    for (const twin of gateway.twins.list()) if (twin.connection !== 'unknown') gateway.twins.connection(twin.tenantId, twin.deviceId, 'unknown');
    embedded = await startEmbeddedBroker({
      host: options.broker.host,
      port: options.broker.port,
      topics,
      authenticate: (username, password) => gateway.authenticate(username, password),
    });
  }
  const url = embedded?.url ?? (options.broker as { url: string }).url;
  let bridge: MqttBridge;
  try {
    bridge = await MqttBridge.connect({
      url,
      topics,
      clientId: options.clientId ?? `nimbus-${options.topicRoot}-${randomBytes(4).toString('hex')}`,
      ...(embedded ? { username: embedded.serviceLogin.username, password: embedded.serviceLogin.password, protocol: 4 as const } : {}),
      ...(options.broker.kind === 'external'
        ? {
            ...(options.broker.protocol ? { protocol: options.broker.protocol } : {}),
            ...(options.broker.username !== undefined ? { username: options.broker.username } : {}),
            ...(options.broker.password !== undefined ? { password: options.broker.password } : {}),
          }
        : {}),
      persistentSession: options.persistentSession ?? false,
      onMessage: (topic, payload, correlation) => gateway.receive(topic, payload, correlation),
      onStatus: (status, detail) =>
        logger[status === 'connected' ? 'info' : 'warn']({ broker: redact(url), ...(detail ? { detail } : {}) }, `MQTT bridge ${status}`),
    });
  } catch (error) {
    await embedded?.close();
    throw new Error(`Cannot connect to the MQTT broker at ${redact(url)}: ${(error as Error).message}`, { cause: error });
  }
  await gateway.attach(bridge);
  logger.info(
    { broker: redact(url), embedded: Boolean(embedded), protocolVersion: bridge.protocolVersion, topicRoot: options.topicRoot },
    'devices: MQTT bridge connected',
  );
  return {
    gateway,
    admin: new DeviceAdmin(gateway),
    broker: { url: redact(url), embedded: Boolean(embedded), protocolVersion: bridge.protocolVersion, topicRoot: options.topicRoot },
    async close() {
      await gateway.close();
      await bridge.close();
      await embedded?.close();
    },
  };
}

/** A URL without the password it may carry. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
