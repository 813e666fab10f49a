/**
 * A virtual device speaking the Nimbus protocol over MQTT, for `nimbus sim`, tests and benchmarks:
 * it announces itself (`$state` online, with a last will of `lost`), publishes its reported state
 * retained, applies `/set` and actions, answers each command (to the MQTT 5 response topic where
 * there is one, else to the reply topic in the payload), and halts on its tenant's emergency stop.
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttProtocol } from '../mqtt/connect-mqtt.js';
import { parseCommand, parseObject, type ReplyMessage } from '../mqtt/protocol.js';
import { TopicTree } from '../mqtt/topics.js';
import { simCatalog, type SimKind, type SimState } from './sim-catalog.js';

/** How a virtual device answers commands: normally, never (to test timeouts), or by refusing. */
export type AnswerMode = 'ack' | 'never' | 'reject' | 'fail';

export interface VirtualDeviceOptions {
  url: string;
  topicRoot: string;
  tenantId: string;
  deviceId: string;
  /** The device's MQTT password (from registration). */
  secret: string;
  kind: SimKind;
  protocol?: MqttProtocol;
  answers?: AnswerMode;
  /** Called for each command received, after it was handled. */
  onCommand?(name: string, message: unknown, answer: ReplyMessage | undefined): void;
}

export class VirtualDevice {
  readonly state: SimState;
  answers: AnswerMode;
  /** Commands received, in order (for tests). */
  readonly received: Array<{ topic: string; id: string; version: number; correlated: boolean }> = [];
  private halted = false;
  private readonly topics: TopicTree;

  private constructor(
    private readonly options: VirtualDeviceOptions,
    private readonly client: MqttClient,
  ) {
    this.topics = new TopicTree(options.topicRoot);
    this.state = simCatalog[options.kind].initial();
    this.answers = options.answers ?? 'ack';
  }

  /** Connects, subscribes to its commands, and announces itself with its full state. */
  static async start(options: VirtualDeviceOptions): Promise<VirtualDevice> {
    const topics = new TopicTree(options.topicRoot);
    const client = await connectMqtt(
      options.url,
      {
        clientId: `${options.tenantId}.${options.deviceId}`,
        username: `${options.tenantId}/${options.deviceId}`,
        password: options.secret,
        clean: true,
        will: { topic: topics.state(options.tenantId, options.deviceId), payload: Buffer.from('lost'), qos: 1, retain: true },
      },
      options.protocol ?? 'auto',
    );
    const device = new VirtualDevice(options, client);
    client.on('message', (topic, payload, packet) => void device.handle(topic, payload, packet.properties));
    // After a broker restart the client reconnects by itself: announce again, since an in-memory broker forgot.
    client.on('connect', () => void device.announce().catch(() => undefined));
    const prefix = topics.device(options.tenantId, options.deviceId);
    await client.subscribeAsync({ [`${prefix}/set`]: { qos: 1 }, [`${prefix}/actions/+`]: { qos: 1 }, [topics.estop(options.tenantId)]: { qos: 1 } });
    await device.announce();
    return device;
  }

  get protocolVersion(): number {
    return this.client.options.protocolVersion ?? 4;
  }

  /** Publishes `$state` online and the whole reported state, both retained. */
  async announce(): Promise<void> {
    await this.client.publishAsync(this.topics.state(this.options.tenantId, this.options.deviceId), 'online', { qos: 1, retain: true });
    await this.report();
  }

  /** Publishes the reported state (retained), after applying `changes` if given. */
  async report(changes: SimState = {}): Promise<void> {
    Object.assign(this.state, changes);
    await this.client.publishAsync(this.topics.reported(this.options.tenantId, this.options.deviceId), JSON.stringify(this.state), { qos: 1, retain: true });
  }

  /** Publishes an event. */
  async emit(name: string, data: unknown): Promise<void> {
    await this.client.publishAsync(this.topics.event(this.options.tenantId, this.options.deviceId, name), JSON.stringify(data), { qos: 1 });
  }

  /** Answers a command after the fact (as a device that was slow or away would), reporting `changes` first. */
  async answerLate(id: string, changes: SimState = {}): Promise<void> {
    await this.report(changes);
    const answer: ReplyMessage = { id, status: 'acked' };
    await this.client.publishAsync(this.topics.replies(this.options.tenantId, this.options.deviceId), JSON.stringify(answer), { qos: 1 });
  }

  /** Disconnects cleanly, saying `offline` first. */
  async stop(): Promise<void> {
    await this.client.publishAsync(this.topics.state(this.options.tenantId, this.options.deviceId), 'offline', { qos: 1, retain: true });
    await this.client.endAsync();
  }

  /** Drops the connection without a goodbye, as a crash or a power cut would: the broker publishes the last will. */
  crash(): void {
    this.client.options.reconnectPeriod = 0;
    this.client.stream.destroy();
    void this.client.endAsync(true).catch(() => undefined);
  }

  private async handle(topic: string, payload: Buffer, properties: { responseTopic?: string; correlationData?: Buffer } | undefined): Promise<void> {
    const behaviour = simCatalog[this.options.kind];
    if (topic === this.topics.estop(this.options.tenantId)) {
      this.halted = parseObject(payload)?.active === true;
      if (this.halted) {
        behaviour.halt(this.state);
        await this.report();
      }
      return;
    }
    const command = parseCommand(payload);
    if (!command) return;
    const prefix = this.topics.device(this.options.tenantId, this.options.deviceId);
    this.received.push({ topic, id: command.id, version: this.protocolVersion, correlated: Boolean(properties?.responseTopic) });
    // A command past its deadline was meant for another moment: never act on it.
    if (command.deadline < Date.now() || this.answers === 'never') return this.options.onCommand?.(topic, command, undefined);
    let answer: ReplyMessage;
    if (this.halted) answer = { id: command.id, status: 'rejected', error: 'emergency stop is engaged' };
    else if (this.answers !== 'ack') answer = { id: command.id, status: this.answers === 'reject' ? 'rejected' : 'failed', error: `simulated ${this.answers}` };
    else {
      try {
        const output =
          topic === `${prefix}/set`
            ? Object.assign(this.state, command.desired) && undefined
            : behaviour.invoke(this.state, topic.slice(`${prefix}/actions/`.length), command.input);
        await this.report();
        answer = { id: command.id, status: 'acked', ...(output !== undefined ? { output } : {}) };
      } catch (error) {
        answer = { id: command.id, status: 'failed', error: (error as Error).message };
      }
    }
    const replyTopic = properties?.responseTopic ?? command.replyTo;
    await this.client.publishAsync(replyTopic, JSON.stringify(answer), {
      qos: 1,
      ...(properties?.correlationData ? { properties: { correlationData: properties.correlationData } } : {}),
    });
    this.options.onCommand?.(topic, command, answer);
  }
}
