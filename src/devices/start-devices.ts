/**
 * Starts device support: the shared state over the store, the gateway and the admin over it,
 * then the transport (MQTT: the embedded broker on a loopback port by default, or an external
 * broker by URL) with the gateway as its host. main.ts calls it once; `close` undoes it in
 * reverse order.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { DeviceStore } from '../core/device-store.js';
import { AuditCheckpointer } from './audit-checkpointer.js';
import { loadAuditSigningKey } from './audit-signing-key.js';
import { DeviceAdmin } from './device-admin.js';
import { DeviceCore } from './device-core.js';
import { DeviceGateway } from './device-gateway.js';
import { silentLogger, type DeviceLogger } from './device-logger.js';
import type { DeviceSettings } from './device-settings.js';
import { MqttTransport, type BrokerChoice, type MqttEndpoint } from './mqtt/mqtt-transport.js';

export type { BrokerChoice } from './mqtt/mqtt-transport.js';

export interface StartDevicesOptions {
  store: DeviceStore;
  broker: BrokerChoice;
  topicRoot: string;
  settings: DeviceSettings;
  /** The bridge's MQTT client id, unique per server and stable across its restarts (`bridgeClientId`); random when absent. */
  clientId?: string;
  persistentSession?: boolean;
  /** Signed checkpoints of the audit chains: the key file (outside the database), the file they are appended to, how often. None when absent. */
  checkpoints?: { keyFile: string; file: string; intervalMs: number };
  clock?: Clock;
  logger?: DeviceLogger;
}

/** Device support, running. */
export interface RunningDevices {
  gateway: DeviceGateway;
  admin: DeviceAdmin;
  /** The settings in force (the tool loop reads `maxToolSteps`). */
  settings: Readonly<DeviceSettings>;
  /** What devices connect to, as `GET /v1/mqtt` tells them. */
  broker: MqttEndpoint;
  close(): Promise<void>;
}

export async function startDevices(options: StartDevicesOptions): Promise<RunningDevices> {
  const logger = options.logger ?? silentLogger;
  const core = new DeviceCore({ store: options.store, settings: options.settings, logger, ...(options.clock ? { clock: options.clock } : {}) });
  await core.load();
  const gateway = new DeviceGateway(core);
  const clientId = options.clientId ?? `nimbus-${options.topicRoot}-${randomBytes(4).toString('hex')}`;
  const transport = new MqttTransport({
    broker: options.broker,
    topicRoot: options.topicRoot,
    clientId,
    persistentSession: options.persistentSession ?? false,
    logger,
  });
  await gateway.attach(transport);
  const broker = transport.endpoint;
  logger.info(
    { broker: broker.url, embedded: broker.embedded, protocolVersion: broker.protocolVersion, topicRoot: broker.topicRoot, clientId },
    'devices: MQTT bridge connected',
  );
  let checkpointer: AuditCheckpointer | undefined;
  if (options.checkpoints) {
    checkpointer = new AuditCheckpointer({
      store: options.store,
      key: loadAuditSigningKey(options.checkpoints.keyFile),
      file: options.checkpoints.file,
      intervalMs: options.checkpoints.intervalMs,
      clock: core.clock,
      logger,
    });
    await checkpointer.start();
  }
  return {
    gateway,
    admin: new DeviceAdmin(core, gateway, checkpointer),
    settings: options.settings,
    broker,
    async close() {
      await gateway.close();
      await transport.close();
      // Last, once every entry (and every folded refusal) is written.
      await checkpointer?.close();
    },
  };
}
