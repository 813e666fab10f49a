/**
 * The tenant-scoped topic tree, so broker ACLs work by prefix:
 *
 *   ROOT/TENANT/devices/DEVICE/$state        online | offline | lost (retained; last will: lost)
 *   ROOT/TENANT/devices/DEVICE/reported      the device's state, JSON (retained)
 *   ROOT/TENANT/devices/DEVICE/events/NAME   an event, JSON
 *   ROOT/TENANT/devices/DEVICE/set           desired property values from Nimbus (a command)
 *   ROOT/TENANT/devices/DEVICE/actions/NAME  an action invocation from Nimbus (a command)
 *   ROOT/TENANT/devices/DEVICE/replies       the device's answers to commands
 *   ROOT/TENANT/$estop                       the tenant's emergency stop, JSON (retained)
 */

/**
 * What Nimbus receives: what a device publishes, and the `set` commands sent to it (by this or
 * another control plane on the same broker), so every control plane records desired values in
 * the broker's order among the device's own messages.
 */
export type InboundChannel = 'state' | 'reported' | 'event' | 'reply' | 'set';

/** A topic Nimbus understood: whose it is and what it carries. */
export interface ParsedTopic {
  tenantId: string;
  deviceId: string;
  channel: InboundChannel;
  /** The event name, for `event`. */
  name?: string;
}

/** Builds and parses topics under one root. */
export class TopicTree {
  constructor(readonly root: string) {
    if (!isLevel(root)) throw new Error(`Invalid MQTT topic root '${root}': use one level of letters, digits, - and _.`);
  }

  /** The prefix every topic of one device starts with (its ACL). */
  device(tenantId: string, deviceId: string): string {
    if (!isLevel(tenantId) || !isLevel(deviceId)) throw new Error(`Tenant '${tenantId}' and device '${deviceId}' must be single topic levels.`);
    return `${this.root}/${tenantId}/devices/${deviceId}`;
  }

  state(tenantId: string, deviceId: string): string {
    return `${this.device(tenantId, deviceId)}/$state`;
  }

  reported(tenantId: string, deviceId: string): string {
    return `${this.device(tenantId, deviceId)}/reported`;
  }

  event(tenantId: string, deviceId: string, name: string): string {
    return `${this.device(tenantId, deviceId)}/events/${name}`;
  }

  set(tenantId: string, deviceId: string): string {
    return `${this.device(tenantId, deviceId)}/set`;
  }

  action(tenantId: string, deviceId: string, name: string): string {
    return `${this.device(tenantId, deviceId)}/actions/${name}`;
  }

  replies(tenantId: string, deviceId: string): string {
    return `${this.device(tenantId, deviceId)}/replies`;
  }

  estop(tenantId: string): string {
    return `${this.root}/${tenantId}/$estop`;
  }

  /** The filters Nimbus subscribes to: everything devices publish, and the `set` commands sent to them, in every tenant. */
  inboundFilters(): string[] {
    const base = `${this.root}/+/devices/+`;
    return [`${base}/$state`, `${base}/reported`, `${base}/events/+`, `${base}/replies`, `${base}/set`];
  }

  /** Parses a topic a device published to; undefined for anything else. */
  parse(topic: string): ParsedTopic | undefined {
    const levels = topic.split('/');
    if (levels[0] !== this.root || levels[2] !== 'devices' || levels.length < 5 || levels.length > 6) return undefined;
    const [, tenantId, , deviceId, leaf, name] = levels as [string, string, string, string, string, string | undefined];
    if (!tenantId || !deviceId) return undefined;
    if (levels.length === 5) {
      if (leaf === '$state') return { tenantId, deviceId, channel: 'state' };
      if (leaf === 'reported') return { tenantId, deviceId, channel: 'reported' };
      if (leaf === 'replies') return { tenantId, deviceId, channel: 'reply' };
      if (leaf === 'set') return { tenantId, deviceId, channel: 'set' };
      return undefined;
    }
    if (leaf === 'events' && name) return { tenantId, deviceId, channel: 'event', name };
    return undefined;
  }
}

/** A topic level with nothing MQTT treats specially (`/`, `+`, `#`, `$` prefixes). */
function isLevel(text: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,128}$/.test(text);
}
