/**
 * The device transport: how commands reach devices and how their state, events and answers come
 * back, whatever the protocol. The gateway (policy, approvals, audit, twins) speaks only this
 * contract, as Home Assistant's `LockEntity` knows no protocol and `MqttLock` implements it over
 * topics. MQTT is the one implementation today (`mqtt/mqtt-transport.ts`); its topics, payloads
 * and brokers live only under `mqtt/`. docs/extending.md, "Add a device protocol", says how to
 * add another.
 */
import type { ConnectionState, EmergencyStop } from '../core/device-store.js';

/** A device, as the transport names it. */
export interface DeviceAddress {
  tenantId: string;
  deviceId: string;
}

/**
 * A command for one device. The transport delivers it at most once and may drop it after
 * `deadline`; the gateway settles it from the device's `ack` or, failing that, at the deadline.
 */
export interface OutboundCommand {
  /** `cmd_...`: the device names it in its answer. */
  id: string;
  to: DeviceAddress;
  /** `set` writes one property; `invoke` runs one action. */
  kind: 'set' | 'invoke';
  /** The property or action name. */
  name: string;
  /** The property's new value (`set`) or the action's input (`invoke`), already checked by the policy. */
  value: unknown;
  /** Unix ms. A device must ignore a command that reaches it later; a transport that can expire messages does. */
  deadline: number;
}

/** How a device answered a command. */
export type AckStatus = 'acked' | 'failed' | 'rejected';

/**
 * A message from a device. `from` is the sender's identity as the transport vouches for it: the
 * device that authenticated on this connection (the embedded broker checks the device's secret
 * and lets a login publish only under its own name; an external broker must enforce the same
 * with its ACL, see deploy/mosquitto/). The gateway trusts `from` and nothing in the payload.
 */
export type InboundMessage =
  | { kind: 'connection'; from: DeviceAddress; state: ConnectionState }
  | { kind: 'reported'; from: DeviceAddress; values: Record<string, unknown> }
  | { kind: 'event'; from: DeviceAddress; name: string; data: unknown }
  | { kind: 'ack'; from: DeviceAddress; commandId: string; status: AckStatus; output?: unknown; error?: string }
  /**
   * A `set` command to the device `from` names, as the transport saw it go out, sent by this
   * control plane or another sharing the transport. A transport that can (a shared broker) delivers
   * these in order with the device's own messages, so every control plane records the desired
   * values at the same place and numbers the twin alike; one that cannot need not: the gateway
   * records them once the command is sent, and once only.
   */
  | { kind: 'desired'; from: DeviceAddress; commandId: string; values: Record<string, unknown> };

/** What the gateway offers a transport once connected. */
export interface TransportHost {
  /** Takes in one message from a device; never throws, never waits. */
  receive(message: InboundMessage): void;
  /** Whether `secret` is the device's own, for transports that accept device logins themselves. */
  authenticate(device: DeviceAddress, secret: string): boolean;
}

/** Where devices connect, as `GET /v1/mqtt` and the start-up log say. */
export interface TransportEndpoint {
  protocol: string;
  /** Without any password the URL carried. */
  url: string;
  /** True when Nimbus hosts the endpoint itself (the embedded broker). */
  embedded: boolean;
}

/** One way of talking to devices. */
export interface DeviceTransport {
  readonly endpoint: TransportEndpoint;
  /**
   * True when the transport starts knowing no device (an endpoint Nimbus hosts, that forgot every
   * session): the gateway then marks every twin's connection `unknown` until the device speaks.
   */
  readonly startsEmpty: boolean;
  /** Starts or joins the endpoint; rejects, in words, when it cannot. Messages flow to `host` from then on. */
  connect(host: TransportHost): Promise<void>;
  /** Sends one command; resolves once the transport took it (not when the device answered). */
  send(command: OutboundCommand): Promise<void>;
  /** Tells a tenant's devices that the emergency stop changed; devices connecting later learn it too. */
  announceEmergencyStop(stop: EmergencyStop): Promise<void>;
  /** Disconnects and stops what `connect` started. */
  close(): Promise<void>;
}
