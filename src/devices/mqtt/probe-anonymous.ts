/**
 * Whether an external broker lets anyone in: one connection without a username or password. A
 * broker that accepts it lets anyone who reaches it publish commands as Nimbus, or state, events
 * and answers as any device, and none of it passes through the gateway's policy or audit log.
 */
import { randomBytes } from 'node:crypto';
import { connectAsync } from 'mqtt';

/** MQTT 3.1.1 CONNACK refusals for credentials: bad username or password (4), not authorized (5). */
const credentialRefusals = new Set([4, 5]);

/** True when the broker at `url` accepts a connection with no credentials; false when it refuses one for that reason; throws when it cannot be reached. */
export async function acceptsAnonymous(url: string): Promise<boolean> {
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  try {
    const client = await connectAsync(bare.toString(), {
      clientId: `nimbus-probe-${randomBytes(6).toString('hex')}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      protocolVersion: 4,
    });
    await client.endAsync(true);
    return true;
  } catch (error) {
    if (credentialRefusals.has(Number((error as { code?: unknown }).code))) return false;
    throw error;
  }
}
