/**
 * Registered devices: their validated thing models in memory (every tool call reads them) and
 * their MQTT credentials. A secret is random, shown once at registration, and stored only as its
 * sha256; the embedded broker checks devices against it in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { DeviceRecord, DeviceStore } from '../core/device-store.js';
import { sha256 } from './canonical-json.js';
import { checkDeviceId } from './device-id.js';
import { parseThingModel, type ThingModel } from './thing-model.js';

/** A device and its parsed model. */
export interface RegisteredDevice {
  record: DeviceRecord;
  model: ThingModel;
}

const key = (tenantId: string, id: string): string => `${tenantId}\u0000${id}`;

export class DeviceRegistry {
  private readonly devices = new Map<string, RegisteredDevice>();

  constructor(
    private readonly store: DeviceStore,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** Loads every device; a stored model that no longer validates is skipped with its reason. */
  async load(): Promise<string[]> {
    const problems: string[] = [];
    for (const record of await this.store.listDevices()) {
      try {
        this.devices.set(key(record.tenantId, record.id), { record, model: parseThingModel(record.model) });
      } catch (error) {
        problems.push(`device '${record.id}' of tenant '${record.tenantId}': ${(error as Error).message}`);
      }
    }
    return problems;
  }

  /**
   * Reads one device again from the store: registered, changed or removed through another control
   * plane sharing it (whose audit entry arrives through the live-event relay). Gone from the store,
   * it is forgotten here; a stored model that no longer validates is forgotten too, as `load`
   * skips it. Returns whether the device is known after.
   */
  async refresh(tenantId: string, id: string): Promise<boolean> {
    const record = await this.store.getDevice(tenantId, id);
    let model: ThingModel | undefined;
    try {
      model = record ? parseThingModel(record.model) : undefined;
    } catch {
      model = undefined;
    }
    if (record && model) this.devices.set(key(tenantId, id), { record, model });
    else this.devices.delete(key(tenantId, id));
    return model !== undefined;
  }

  get(tenantId: string, id: string): RegisteredDevice | undefined {
    return this.devices.get(key(tenantId, id));
  }

  /** Devices of a tenant, by id. */
  list(tenantId: string): RegisteredDevice[] {
    return [...this.devices.values()].filter((device) => device.record.tenantId === tenantId).sort((a, b) => a.record.id.localeCompare(b.record.id));
  }

  /**
   * Registers or updates a device. A new device gets a secret (returned once); an existing one
   * keeps its secret unless `rotate` (or a `secret` the caller chose) replaces it.
   */
  async put(
    tenantId: string,
    id: string,
    model: unknown,
    options: { rotate?: boolean; secret?: string } = {},
  ): Promise<{ device: RegisteredDevice; secret?: string; created: boolean }> {
    checkDeviceId(id);
    const parsed = parseThingModel(model);
    const existing = this.get(tenantId, id);
    const now = this.clock.now();
    const secret = options.secret ?? (!existing || options.rotate ? `dev_${randomBytes(24).toString('base64url')}` : undefined);
    const record: DeviceRecord = {
      tenantId,
      id,
      model: parsed.source,
      secretHash: secret ? sha256(secret) : existing!.record.secretHash,
      createdAt: existing?.record.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.putDevice(record);
    const device = { record, model: parsed };
    this.devices.set(key(tenantId, id), device);
    return { device, ...(secret ? { secret } : {}), created: !existing };
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    this.devices.delete(key(tenantId, id));
    return this.store.deleteDevice(tenantId, id);
  }

  /** Whether `secret` is the device's MQTT password. */
  verifySecret(tenantId: string, id: string, secret: string): boolean {
    const device = this.get(tenantId, id);
    if (!device) return false;
    const expected = Buffer.from(device.record.secretHash, 'hex');
    const given = Buffer.from(sha256(secret), 'hex');
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
