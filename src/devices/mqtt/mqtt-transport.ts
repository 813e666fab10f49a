/**
 * The device transport over MQTT: the embedded broker (aedes on a loopback port) or an external
 * broker by URL, and one bridge client that carries everything. Topics (`topics.ts`) and payloads
 * (`protocol.ts`) are MQTT's business and stay in this folder; the gateway sees only the
 * contract of `../transport.ts`. The sender of a message is the device named by its topic: the
 * broker's ACL lets a login publish only under its own device's prefix.
 */
import type { EmergencyStop } from '../../core/device-store.js';
import { silentLogger, type DeviceLogger } from '../device-logger.js';
import type { DeviceTransport, OutboundCommand, TransportEndpoint, TransportHost } from '../transport.js';
import type { MqttProtocol } from './connect-mqtt.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.js';
import { MqttBridge } from './mqtt-bridge.js';
import { acceptsAnonymous } from './probe-anonymous.js';
import { parseCommand, parseConnection, parseObject, parseReply, type CommandMessage } from './protocol.js';
import { TopicTree } from './topics.js';

/** Where devices connect: the embedded broker on `host:port` (0 picks a free port), or a broker by URL. */
export type BrokerChoice =
  | { kind: 'embedded'; host: string; port: number }
  | {
      kind: 'external';
      url: string;
      protocol?: MqttProtocol;
      username?: string;
      password?: string;
      /** Start even when the broker accepts connections without credentials (anyone could then forge device traffic, unaudited). */
      allowAnonymous?: boolean;
    };

export interface MqttTransportOptions {
  broker: BrokerChoice;
  topicRoot: string;
  /** The bridge's client id; its persistent session keeps device answers while Nimbus is away. */
  clientId: string;
  persistentSession?: boolean;
  logger?: DeviceLogger;
}

/** What `GET /v1/mqtt` tells devices. */
export interface MqttEndpoint extends TransportEndpoint {
  protocol: 'mqtt';
  /** 4 (MQTT 3.1.1) or 5, as the bridge negotiated. */
  protocolVersion: number;
  topicRoot: string;
}

export class MqttTransport implements DeviceTransport {
  private readonly topics: TopicTree;
  private readonly logger: DeviceLogger;
  private embedded: EmbeddedBroker | undefined;
  private bridge: MqttBridge | undefined;

  constructor(private readonly options: MqttTransportOptions) {
    this.topics = new TopicTree(options.topicRoot);
    this.logger = options.logger ?? silentLogger;
  }

  get startsEmpty(): boolean {
    return this.options.broker.kind === 'embedded';
  }

  get endpoint(): MqttEndpoint {
    return {
      protocol: 'mqtt',
      url: redact(this.url()),
      embedded: this.embedded !== undefined,
      protocolVersion: this.bridge?.protocolVersion ?? 4,
      topicRoot: this.options.topicRoot,
    };
  }

  async connect(host: TransportHost): Promise<void> {
    const { broker } = this.options;
    if (broker.kind === 'embedded') {
      this.embedded = await startEmbeddedBroker({
        host: broker.host,
        port: broker.port,
        topics: this.topics,
        authenticate: (device, secret) => host.authenticate(device, secret),
      });
    }
    const url = this.url();
    if (broker.kind === 'external') await this.checkAuthentication(broker.url, broker.allowAnonymous ?? false);
    try {
      this.bridge = await MqttBridge.connect({
        url,
        topics: this.topics,
        clientId: this.options.clientId,
        ...(this.embedded
          ? { ...this.embedded.serviceLogin, protocol: 4 as const }
          : {
              ...(broker.kind === 'external' && broker.protocol ? { protocol: broker.protocol } : {}),
              ...(broker.kind === 'external' && broker.username !== undefined ? { username: broker.username } : {}),
              ...(broker.kind === 'external' && broker.password !== undefined ? { password: broker.password } : {}),
            }),
        persistentSession: this.options.persistentSession ?? false,
        onMessage: (topic, payload, correlation) => this.receive(host, topic, payload, correlation),
        onStatus: (status, detail) =>
          this.logger[status === 'connected' ? 'info' : 'warn']({ broker: redact(url), ...(detail ? { detail } : {}) }, `MQTT bridge ${status}`),
      });
    } catch (error) {
      await this.embedded?.close();
      this.embedded = undefined;
      throw new Error(`Cannot connect to the MQTT broker at ${redact(url)}: ${(error as Error).message}`, { cause: error });
    }
  }

  async send(command: OutboundCommand): Promise<void> {
    if (!this.bridge) throw new Error('devices are not connected to an MQTT broker');
    const { tenantId, deviceId } = command.to;
    const replyTo = this.topics.replies(tenantId, deviceId);
    const message: CommandMessage = {
      id: command.id,
      replyTo,
      deadline: command.deadline,
      ...(command.kind === 'set' ? { desired: { [command.name]: command.value } } : { input: command.value }),
    };
    const topic = command.kind === 'set' ? this.topics.set(tenantId, deviceId) : this.topics.action(tenantId, deviceId, command.name);
    await this.bridge.publish(topic, JSON.stringify(message), {
      responseTopic: replyTo,
      correlation: command.id,
      expirySeconds: Math.max(1, Math.ceil((command.deadline - Date.now()) / 1000)),
    });
  }

  async announceEmergencyStop(stop: EmergencyStop): Promise<void> {
    // Retained, so devices halt and late joiners learn it.
    await this.bridge?.publish(this.topics.estop(stop.tenantId), JSON.stringify({ active: stop.active, reason: stop.reason, at: stop.changedAt }), {
      retain: true,
    });
  }

  async close(): Promise<void> {
    await this.bridge?.close();
    await this.embedded?.close();
    this.bridge = undefined;
    this.embedded = undefined;
  }

  /** Turns a message on our topics into the contract's terms; anything malformed is dropped. */
  private receive(host: TransportHost, topic: string, payload: Buffer, correlation: string | undefined): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    const from = { tenantId: parsed.tenantId, deviceId: parsed.deviceId };
    switch (parsed.channel) {
      case 'state':
        return host.receive({ kind: 'connection', from, state: parseConnection(payload) });
      case 'reported': {
        const values = parseObject(payload);
        if (values) host.receive({ kind: 'reported', from, values });
        return;
      }
      case 'event':
        return host.receive({ kind: 'event', from, name: parsed.name ?? '', data: parseObject(payload) ?? payload.toString().slice(0, 2000) });
      case 'set': {
        // A command to the device, from this control plane or another: only a control plane may publish it (the ACL).
        const command = parseCommand(payload);
        if (command?.desired) host.receive({ kind: 'desired', from, commandId: command.id, values: command.desired });
        return;
      }
      case 'reply': {
        const reply = parseReply(payload, correlation);
        if (reply)
          host.receive({
            kind: 'ack',
            from,
            commandId: reply.id,
            status: reply.status,
            output: reply.output,
            ...(reply.error !== undefined ? { error: reply.error } : {}),
          });
        return;
      }
    }
  }

  /** Refuses a broker that lets anyone in, unless told to accept it. */
  private async checkAuthentication(url: string, allowAnonymous: boolean): Promise<void> {
    let open: boolean;
    try {
      open = await acceptsAnonymous(url);
    } catch {
      return; // Unreachable: the bridge's own connection says why.
    }
    if (!open) return;
    if (allowAnonymous) {
      this.logger.warn(
        { broker: redact(url) },
        'the MQTT broker accepts connections without credentials: anyone who reaches it can forge device traffic (--mqtt-allow-anonymous)',
      );
      return;
    }
    throw new Error(
      `The MQTT broker at ${redact(url)} accepts connections without credentials: anyone who reaches it could publish commands and device state, unaudited. ` +
        `Give it a password file and an ACL (deploy/mosquitto/ has an example for Mosquitto) and put Nimbus's login in the URL (mqtt://nimbus:SECRET@HOST:1883), ` +
        `or start with --mqtt-allow-anonymous (mqttAllowAnonymous) to accept that risk.`,
    );
  }

  private url(): string {
    return this.embedded?.url ?? (this.options.broker.kind === 'external' ? this.options.broker.url : '');
  }
}

/** A URL without the password it may carry. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
