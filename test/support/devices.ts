/**
 * Test rigs for devices: device support started on a real SQLite store and a real broker (the
 * embedded aedes, or the Mosquitto at 127.0.0.1:1883), and virtual devices registered with it.
 * Where Mosquitto is absent, tests that need it say so and skip, except under CI=true.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localPrincipal } from '../../src/core/principal.js';
import type { Store } from '../../src/core/store.js';
import { defaultDeviceSettings, type DeviceSettings } from '../../src/devices/device-settings.js';
import { simCatalog, type SimKind } from '../../src/devices/sim/sim-catalog.js';
import { VirtualDevice, type AnswerMode } from '../../src/devices/sim/virtual-device.js';
import { startDevices, type BrokerChoice, type RunningDevices } from '../../src/devices/start-devices.js';
import { openSqliteStore } from '../../src/store/sqlite/open-sqlite-store.js';

export const mosquittoUrl = 'mqtt://127.0.0.1:1883';

/** Whether something accepts TCP connections at 127.0.0.1:1883. */
export function mosquittoListening(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(1883, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True when tests needing Mosquitto must be skipped; throws under CI=true. */
export async function skipWithoutMosquitto(): Promise<boolean> {
  if (await mosquittoListening()) return false;
  const message = 'No MQTT broker at 127.0.0.1:1883 (Mosquitto): tests against an external broker are skipped.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(message);
  return true;
}

/** A unique topic root, so runs on a shared (persistent) Mosquitto never see each other. */
export function uniqueRoot(): string {
  return `nimbus-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface DeviceRig {
  devices: RunningDevices;
  store: Store;
  root: string;
  broker: BrokerChoice;
  /** Registers a virtual device of a kind and connects it. */
  addSim(kind: SimKind, id: string, answers?: AnswerMode): Promise<VirtualDevice>;
  /** Stops device support and reopens it on the same store and broker (a Nimbus restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Starts device support on a fresh SQLite file and the given broker. */
export async function startDeviceRig(kind: 'embedded' | 'mosquitto', settings: Partial<DeviceSettings> = {}): Promise<DeviceRig> {
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-devices-'));
  const path = join(folder, 'nimbus.db');
  const root = uniqueRoot();
  let store: Store = await openSqliteStore(path);
  let broker: BrokerChoice =
    kind === 'embedded' ? { kind: 'embedded', host: '127.0.0.1', port: 0 } : { kind: 'external', url: mosquittoUrl, allowAnonymous: true };
  const open = (): Promise<RunningDevices> =>
    startDevices({
      store: store.devices,
      broker,
      topicRoot: root,
      settings: { ...defaultDeviceSettings, actuationsPerKeyPerMinute: 10_000, ...settings },
    });
  let devices = await open();
  if (kind === 'embedded') broker = { kind: 'embedded', host: '127.0.0.1', port: Number(new URL(devices.broker.url).port) };
  const sims: VirtualDevice[] = [];
  const rig: DeviceRig = {
    get devices() {
      return devices;
    },
    get store() {
      return store;
    },
    root,
    broker,
    async addSim(simKind, id, answers = 'ack') {
      const { secret } = await devices.admin.register(localPrincipal, id, simCatalog[simKind].model, {});
      const device = await VirtualDevice.start({
        url: devices.broker.url,
        topicRoot: root,
        tenantId: localPrincipal.tenantId,
        deviceId: id,
        secret: secret!,
        kind: simKind,
        answers,
      });
      sims.push(device);
      return device;
    },
    async restart() {
      await devices.close();
      await store.close();
      store = await openSqliteStore(path);
      devices = await open();
    },
    async close() {
      for (const sim of sims) await sim.stop().catch(() => undefined);
      await devices.close();
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Polls until `check` passes (it throws until then), or fails with its last error. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
