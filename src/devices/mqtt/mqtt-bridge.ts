/**
 * Nimbus's own MQTT connection: subscribes to what devices publish (QoS 1) and hands each
 * message to the gateway; publishes commands and emergency stops. On MQTT 5 it also sets the
 * response topic and correlation data of commands, and an expiry so a broker drops a command
 * nobody collected in time. It reconnects by itself; a persistent session (where asked) keeps
 * device answers that arrive while Nimbus is away.
 */
import type { MqttClient } from 'mqtt';
import type { TopicTree } from './topics.js';
import { connectMqtt, type MqttProtocol } from './connect-mqtt.js';

/** Publish options; the MQTT 5 ones are dropped on 3.1.1. */
export interface PublishOptions {
  retain?: boolean;
  responseTopic?: string;
  correlation?: string;
  expirySeconds?: number;
}

export interface MqttBridgeOptions {
  url: string;
  topics: TopicTree;
  clientId: string;
  username?: string;
  password?: string;
  protocol?: MqttProtocol;
  /** Keep the session (and queued answers) across reconnects; on MQTT 5 it expires after an hour. */
  persistentSession?: boolean;
  onMessage(topic: string, payload: Buffer, correlation: string | undefined): void;
  onStatus?(status: 'connected' | 'reconnecting' | 'offline', detail?: string): void;
}

/** One MQTT client: subscribed to everything devices publish, publishing commands. */
export class MqttBridge {
  private constructor(private readonly client: MqttClient) {}

  /** Connects and subscribes; rejects when the broker cannot be reached or refuses the login. */
  static async connect(options: MqttBridgeOptions): Promise<MqttBridge> {
    const persistent = options.persistentSession ?? false;
    const client = await connectMqtt(
      options.url,
      {
        clientId: options.clientId,
        clean: !persistent,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
        properties: persistent ? { sessionExpiryInterval: 3600 } : {},
        resubscribe: true,
      },
      options.protocol,
    );
    client.on('message', (topic, payload, packet) => {
      const correlation = packet.properties?.correlationData?.toString();
      options.onMessage(topic, payload, correlation);
    });
    client.on('connect', () => options.onStatus?.('connected'));
    client.on('reconnect', () => options.onStatus?.('reconnecting'));
    client.on('offline', () => options.onStatus?.('offline'));
    client.on('error', (error) => options.onStatus?.('offline', error.message));
    const filters = options.topics.inboundFilters();
    await client.subscribeAsync(Object.fromEntries(filters.map((filter) => [filter, { qos: 1 as const }])));
    return new MqttBridge(client);
  }

  get protocolVersion(): number {
    return this.client.options.protocolVersion ?? 4;
  }

  async publish(topic: string, payload: string, options: PublishOptions = {}): Promise<void> {
    const version5 = this.protocolVersion === 5;
    await this.client.publishAsync(topic, payload, {
      qos: 1,
      retain: options.retain ?? false,
      ...(version5
        ? {
            properties: {
              ...(options.responseTopic ? { responseTopic: options.responseTopic } : {}),
              ...(options.correlation ? { correlationData: Buffer.from(options.correlation) } : {}),
              ...(options.expirySeconds ? { messageExpiryInterval: options.expirySeconds } : {}),
            },
          }
        : {}),
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
