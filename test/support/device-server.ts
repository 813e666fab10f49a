/**
 * A real Nimbus HTTP server (Fastify, SQLite, embedded MQTT broker, device gateway) whose model is
 * the scripted engine, and whose callers are named by their bearer token so tests can act as keys
 * with different scopes: `admin` (everything), `ops` and `ops2` (two more admins), `local` (local mode's one principal), `lamps` (inference, devices lamp-*), `none` (no devices).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { installDevices } from '../../src/api/install-devices.js';
import { installKnowledge } from '../../src/api/install-knowledge.js';
import { deviceToolKind } from '../../src/api/responses/device-tool.js';
import { fileSearchKind } from '../../src/api/responses/file-search-tool.js';
import { registerResponseRoutes } from '../../src/api/routes/responses.js';
import { consoleRoutes, isApiPath } from '../../src/api/routes/console.js';
import { buildServer } from '../../src/api/server.js';
import { NimbusError } from '../../src/core/errors.js';
import { systemClock } from '../../src/core/clock.js';
import { ModelCatalog } from '../../src/core/model-catalog.js';
import type { Principal } from '../../src/core/principal.js';
import type { Store } from '../../src/core/store.js';
import { defaultDeviceSettings, type DeviceSettings } from '../../src/devices/device-settings.js';
import { simCatalog, type SimKind } from '../../src/devices/sim/sim-catalog.js';
import { VirtualDevice, type AnswerMode } from '../../src/devices/sim/virtual-device.js';
import { startDevices, type RunningDevices } from '../../src/devices/start-devices.js';
import { startKnowledge } from '../../src/knowledge/start-knowledge.js';
import { ResponseRecords } from '../../src/responses/response-records.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';
import type { UsageGate } from '../../src/tenancy/usage-gate.js';
import { uniqueRoot } from './devices.js';
import { ScriptedEngine } from './scripted-engine.js';

const principals: Record<string, Principal> = {
  admin: { tenantId: 'acme', keyId: 'key_admin', local: false, scopes: { inference: true, admin: true, models: '*', devices: '*' } },
  ops: { tenantId: 'acme', keyId: 'key_ops', local: false, scopes: { inference: true, admin: true, models: '*', devices: '*' } },
  ops2: { tenantId: 'acme', keyId: 'key_ops2', local: false, scopes: { inference: true, admin: true, models: '*', devices: '*' } },
  lamps: { tenantId: 'acme', keyId: 'key_lamps', local: false, scopes: { inference: true, admin: false, models: '*', devices: ['lamp-1', 'lamp-2'] } },
  none: { tenantId: 'acme', keyId: 'key_none', local: false, scopes: { inference: true, admin: false, models: '*', devices: [] } },
  other: { tenantId: 'globex', keyId: 'key_other', local: false, scopes: { inference: true, admin: true, models: '*', devices: '*' } },
  // Local mode's one principal (no key), here in acme where the sims are: it approves its own commands, from the console only.
  local: { tenantId: 'acme', keyId: null, local: true, scopes: { inference: true, admin: true, models: '*', devices: '*' } },
};

export interface DeviceServer {
  app: FastifyInstance;
  url: string;
  engine: ScriptedEngine;
  devices: RunningDevices;
  /** The settings the gateway uses, live: a test may shorten `commandTimeoutMs` for a while. */
  settings: DeviceSettings;
  store: Store;
  sims: Map<string, VirtualDevice>;
  /** Registers (as admin) and connects a virtual device. */
  addSim(kind: SimKind, id: string, answers?: AnswerMode): Promise<VirtualDevice>;
  /** fetch against the server as a named caller; JSON in, status and JSON out. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes; the assertions check them
  call(as: keyof typeof principals, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** A caller of the console's files (the page holds no data): no rights at all. */
const visitor: Principal = { tenantId: 'acme', keyId: null, local: false, scopes: { inference: false, admin: false, models: [], devices: [] } };

/** `consoleDirectory`: serve the built console too (browser tests sign in with a key's name, e.g. `admin`). */
/** `gate`: limits and prices around every inference request (none by default). */
export async function startDeviceServer(
  settings: Partial<DeviceSettings> = {},
  options: { consoleDirectory?: string; gate?: UsageGate } = {},
): Promise<DeviceServer> {
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-device-server-'));
  const store = await openSqliteStore(join(folder, 'nimbus.db'));
  const engine = new ScriptedEngine();
  const catalog = new ModelCatalog([engine]);
  const { app, context } = buildServer({
    catalog,
    engines: [engine],
    store,
    bodyLimit: 1 << 20,
    logLevel: 'silent',
    ...(options.consoleDirectory !== undefined ? { consoleDirectory: options.consoleDirectory } : {}),
    ...(options.gate ? { gate: options.gate } : {}),
    resolvePrincipal: (request) => {
      if (consoleRoutes.includes(request.routeOptions.url ?? '') && !isApiPath(request.url)) return visitor;
      const name = (request.headers.authorization ?? '').replace(/^Bearer /, '');
      const principal = principals[name];
      if (!principal) throw new NimbusError('invalid_api_key', 'unknown test key');
      return principal;
    },
  });
  const root = uniqueRoot();
  // Suites here make many commands with one key: the per-key cap (issue 17) is tested on its own, in device-caps.test.ts.
  const liveSettings = { ...defaultDeviceSettings, actuationsPerKeyPerMinute: 10_000, approvalRequestsPerKeyPerMinute: 10_000, ...settings };
  const devices = await startDevices({
    store: store.devices,
    broker: { kind: 'embedded', host: '127.0.0.1', port: 0 },
    topicRoot: root,
    settings: liveSettings,
  });
  installDevices(app, context, devices, 'test');
  // /v1/responses with device tools and file search (a search's passages are untrusted text for the devices).
  const knowledge = startKnowledge({
    store: store.knowledge,
    home: folder,
    limits: { maxFileBytes: 1 << 20, tenantStorageBytes: 1 << 24 },
    clock: systemClock,
    onError: (error) => console.error(error),
  });
  installKnowledge(app, knowledge);
  registerResponseRoutes(app, context, {
    records: new ResponseRecords(store.responses, { retentionDays: 30, tenantStorageBytes: 1 << 24 }, systemClock, true),
    maxToolTurns: 4,
    serverTools: { file_search: fileSearchKind(knowledge.search), nimbus_devices: deviceToolKind(context) },
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const sims = new Map<string, VirtualDevice>();
  const server: DeviceServer = {
    app,
    url: address,
    engine,
    devices,
    settings: liveSettings,
    store,
    sims,
    async call(as, method, path, body) {
      const response = await fetch(`${address}${path}`, {
        method,
        headers: { authorization: `Bearer ${as}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
    },
    async addSim(kind, id, answers = 'ack') {
      const registered = await server.call('admin', 'PUT', `/v1/devices/${id}`, { model: simCatalog[kind].model });
      if (registered.status >= 300) throw new Error(JSON.stringify(registered.body));
      const sim = await VirtualDevice.start({
        url: devices.broker.url,
        topicRoot: root,
        tenantId: 'acme',
        deviceId: id,
        secret: registered.body.secret,
        kind,
        answers,
      });
      sims.set(id, sim);
      return sim;
    },
    async close() {
      for (const sim of sims.values()) await sim.stop().catch(() => undefined);
      await knowledge.stop();
      await app.close();
      await devices.close();
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
  return server;
}
