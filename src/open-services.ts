/**
 * Services the control plane opens at start beside its store: the limit counters (in process, or
 * in Redis shared by every control plane), device support (the embedded MQTT broker or an
 * external one) and the live feed's relay to the other control planes (PostgreSQL only). Picked
 * here for the composition root, `main.ts`.
 */
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { NimbusConfig } from './core/config.js';
import type { LimitCounters } from './core/limit-counters.js';
import { relayLiveEvents } from './core/live-event-relay.js';
import type { LiveEventBus } from './core/live-events.js';
import type { Store } from './core/store.js';
import { bridgeClientId } from './devices/instance-id.js';
import { startDevices, type RunningDevices } from './devices/start-devices.js';
import { PostgresEventRelay } from './store/postgres/postgres-event-relay.js';
import { RedisLimitCounters } from './store/redis/redis-limit-counters.js';
import { MemoryLimitCounters } from './tenancy/memory-limit-counters.js';

/** Where the Redis counters report a dead process swept, or a beat that failed; a logger once the server has one. */
export interface CounterReports {
  log: FastifyBaseLogger | undefined;
}

/** Limit counters in Redis when several control-plane processes share limits, else in this process. */
export async function openLimitCounters(redisUrl: string | undefined, installationId: string, reports: CounterReports): Promise<LimitCounters> {
  if (!redisUrl) return new MemoryLimitCounters();
  const counters = new RedisLimitCounters(redisUrl, {
    // Installations sharing a Redis share no counter; a new namespace's budgets are seeded from this installation's ledger.
    namespace: `nimbus:${installationId}:`,
    onSweep: (processId, leases) =>
      reports.log?.warn({ process: processId, leases }, `limits: released ${leases} lease(s) of process ${processId}, which stopped renewing its liveness`),
    onError: (error) => reports.log?.warn({ err: error }, "limits: renewing this process's liveness in Redis failed; retrying at the next beat"),
  });
  try {
    await counters.connect();
  } catch (error) {
    await counters.close();
    throw new Error(`Cannot connect to Redis at ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}: ${(error as Error).message}. Check NIMBUS_REDIS_URL.`, {
      cause: error,
    });
  }
  return counters;
}

/**
 * Device support: the embedded MQTT broker on mqttHost:mqttPort, or an external broker at
 * mqttUrl (`off`: none). A port already taken (another broker) turns devices off with a warning
 * rather than stopping the server. `off` says why devices are off, in words, for the banner.
 */
export async function openDevices(config: NimbusConfig, store: Store, log: FastifyBaseLogger): Promise<{ devices?: RunningDevices; off?: string }> {
  if (config.mqttUrl === 'off') return { off: "off: mqttUrl is 'off' (--mqtt-url, NIMBUS_MQTT_URL or the config file)" };
  const external = config.mqttUrl !== undefined;
  const settings = {
    ...config.devices,
    rateLimit: { perMinute: config.devices.rateLimitPerMinute, burst: config.devices.rateLimitBurst },
    refusalAudit: { perWindow: config.audit.refusalsPerWindow, windowMs: config.audit.refusalWindowMs },
  };
  try {
    const devices = await startDevices({
      store: store.devices,
      broker: external
        ? { kind: 'external', url: config.mqttUrl!, allowAnonymous: config.mqttAllowAnonymous }
        : { kind: 'embedded', host: config.mqttHost, port: config.mqttPort },
      topicRoot: config.devices.topicRoot,
      settings,
      logger: log,
      // Unique per instance (two servers on one topic root must not take over each other's session)
      // and stable across restarts: on an external broker its persistent session keeps device answers while Nimbus restarts.
      clientId: bridgeClientId(config.home, config.devices.topicRoot),
      checkpoints: {
        keyFile: config.audit.signingKeyFile ?? join(config.home, 'audit-signing.key'),
        file: config.audit.checkpointFile ?? join(config.home, 'audit-checkpoints.jsonl'),
        intervalMs: config.audit.checkpointIntervalMs,
      },
      ...(external ? { persistentSession: true } : {}),
    });
    return { devices };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const off = `off: MQTT port ${config.mqttHost}:${config.mqttPort} is taken (another broker?). Set --mqtt-port (NIMBUS_MQTT_PORT) to a free port, or --mqtt-url to use that broker`;
    log.warn(`${off.replace(/^off: /, '')}: devices are off.`);
    return { off };
  }
}

/**
 * Where several control planes share PostgreSQL, the live feed of each carries the others' events
 * (LISTEN/NOTIFY, decision 0016); returns the function that stops it. On SQLite (one control
 * plane) there is nothing to relay.
 */
export async function openEventRelay(databaseUrl: string | undefined, bus: LiveEventBus, origin: string, log: FastifyBaseLogger): Promise<() => Promise<void>> {
  if (!databaseUrl || !/^postgres(ql)?:/.test(databaseUrl)) return async () => undefined;
  const relay = new PostgresEventRelay({
    url: databaseUrl,
    origin,
    onError: (error) =>
      log.warn({ err: error }, 'live feed: relaying events to or from the other control planes failed; it goes on (reconnecting where needed)'),
  });
  return relayLiveEvents(bus, relay);
}
