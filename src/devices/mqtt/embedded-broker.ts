/**
 * The MQTT broker embedded in Nimbus (aedes, MQTT 3.1.1) on a loopback port by default. Devices
 * log in as `TENANT/DEVICE` with their own secret; the Nimbus bridge logs in with a secret made
 * at start. ACLs by prefix: a device publishes only its own lifecycle, reported state, events
 * and replies, and subscribes only to its own commands and its tenant's emergency stop.
 *
 * A client id belongs to the identity that logged in with it: the broker keys sessions by the
 * login and the id together (`sessionId`), so a device that reconnects with its id takes over
 * its own old session (MQTT's rule), but a login of another device, of any tenant, that presents
 * the same id gets a session of its own and cannot knock the first one offline or inherit its
 * subscriptions.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { DeviceAddress } from '../transport.js';
import type { TopicTree } from './topics.js';

/** Who a connected client is. */
type Identity = { kind: 'service' } | { kind: 'device'; tenantId: string; deviceId: string };

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  topics: TopicTree;
  /** Whether `secret` is the device's own (the gateway checks it against the registry). */
  authenticate(device: DeviceAddress, secret: string): boolean;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  url: string;
  port: number;
  /** The login of the Nimbus bridge. */
  serviceLogin: { username: string; password: string };
  close(): Promise<void>;
}

const serviceUser = '$nimbus';

/** The broker's key for a session: who logged in, then the client id they chose. */
export function sessionId(identity: Identity, clientId: string): string {
  return `${identity.kind === 'service' ? serviceUser : `${identity.tenantId}/${identity.deviceId}`}|${clientId}`;
}

function refusal(returnCode: 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

/** A device logs in as `TENANT/DEVICE`. */
export function deviceLogin(username: string): DeviceAddress | undefined {
  const slash = username.indexOf('/');
  if (slash <= 0 || slash === username.length - 1) return undefined;
  return { tenantId: username.slice(0, slash), deviceId: username.slice(slash + 1) };
}

/** A device subscribes to its own commands (`set`, `actions/+` or one action), its retained reported state, and its tenant's emergency stop. */
function deviceMaySubscribe(topic: string, prefix: string, estop: string): boolean {
  if (topic === `${prefix}/set` || topic === `${prefix}/reported` || topic === estop) return true;
  const action = topic.startsWith(`${prefix}/actions/`) ? topic.slice(prefix.length + '/actions/'.length) : undefined;
  return action === '+' || (action !== undefined && /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(action));
}

/** Starts aedes on `host:port` (0 picks a free port). */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const servicePassword = randomBytes(24).toString('base64url');
  const identities = new WeakMap<Client, Identity>();
  const { topics } = options;
  const broker = await Aedes.createBroker({
    drainTimeout: 10_000,
    authenticate(client, username, password, done) {
      const secret = password?.toString() ?? '';
      let identity: Identity;
      if (username === serviceUser && secret === servicePassword) identity = { kind: 'service' };
      else {
        const device = username ? deviceLogin(username) : undefined;
        if (!device || !options.authenticate(device, secret)) return done(refusal(4, 'bad username or password'), false);
        identity = { kind: 'device', ...device };
      }
      identities.set(client, identity);
      // aedes takes over, and restores the stored session of, whatever client has the same id: make
      // the id the login's own before it looks (authentication runs before both).
      client.id = sessionId(identity, client.id);
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      const identity = client && identities.get(client);
      if (!identity) return done(new Error('not authorized'));
      if (identity.kind === 'service') return done(null);
      const prefix = topics.device(identity.tenantId, identity.deviceId);
      const leaf = packet.topic.startsWith(`${prefix}/`) ? packet.topic.slice(prefix.length + 1) : undefined;
      const allowed =
        leaf === '$state' || leaf === 'reported' || leaf === 'replies' || (leaf !== undefined && /^events\/[A-Za-z][A-Za-z0-9_]{0,31}$/.test(leaf));
      done(allowed ? null : new Error(`device may not publish to ${packet.topic}`));
    },
    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (!identity) return done(new Error('not authorized'));
      if (identity.kind === 'service') return done(null, subscription);
      const prefix = topics.device(identity.tenantId, identity.deviceId);
      done(null, deviceMaySubscribe(subscription.topic, prefix, topics.estop(identity.tenantId)) ? subscription : null);
    },
  });
  // No Nagle: commands and answers are small packets that must not wait for delayed ACKs.
  const server: Server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
    serviceLogin: { username: serviceUser, password: servicePassword },
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
