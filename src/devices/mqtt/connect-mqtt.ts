/**
 * Connects an MQTT client, speaking MQTT 5 where the broker does and 3.1.1 where it does not
 * (aedes 1.x refuses 5 with "unacceptable protocol version"): `auto` tries 5, then 4.
 */
import type { Socket } from 'node:net';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

/** `auto`, or a fixed protocol level: 4 (3.1.1) or 5. */
export type MqttProtocol = 'auto' | 4 | 5;

/**
 * Connects; with `auto`, falls back to 3.1.1 when the broker refuses MQTT 5. Nagle's algorithm is
 * turned off on every connection (mqtt.js leaves it on): a command and its answer are small
 * packets, and with Nagle and delayed ACKs each waited about 40 ms per hop.
 */
export async function connectMqtt(url: string, options: IClientOptions, protocol: MqttProtocol = 'auto'): Promise<MqttClient> {
  const attempt = async (version: 4 | 5): Promise<MqttClient> => {
    const client = await connectAsync(url, { connectTimeout: 5_000, reconnectPeriod: 1_000, ...options, protocolVersion: version }, false);
    noDelay(client);
    client.on('connect', () => noDelay(client));
    return client;
  };
  if (protocol !== 'auto') return attempt(protocol);
  try {
    return await attempt(5);
  } catch (error) {
    if (!/unacceptable protocol version|unsupported protocol version/i.test((error as Error).message)) throw error;
    return attempt(4);
  }
}

function noDelay(client: MqttClient): void {
  (client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
}
