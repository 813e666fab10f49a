/**
 * Keeps this control plane's device registry in step with the others sharing its store. Each
 * plane holds its registered devices in memory (every tool call reads them); a device registered,
 * changed or removed through another plane reaches this one as that plane's audit entry
 * (`device_registered`, `device_removed`) through the live-event relay (decision 0016), and the
 * device is read again from the store. Before, a device registered through one plane was out of
 * scope (404) through the others until they restarted. Entries made here are read again too: one
 * read, and the store stays the one source.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { LiveEvent, LiveEventBus } from '../core/live-events.js';

const registryEvents = new Set(['device_registered', 'device_removed']);

/** The tenant and device a registry change names, or undefined for any other event. */
export function registryChange(event: LiveEvent): { tenantId: string; deviceId: string } | undefined {
  if (event.type !== 'audit') return undefined;
  const data = event.data as { event?: unknown; device?: unknown };
  if (typeof data.event !== 'string' || !registryEvents.has(data.event) || typeof data.device !== 'string') return undefined;
  return { tenantId: event.tenantId, deviceId: data.device };
}

/** Reads a device again (`DeviceAdmin.reload`) whenever a registry change is published; returns the function that stops it. */
export function syncDeviceRegistry(events: LiveEventBus, reload: (tenantId: string, deviceId: string) => Promise<void>, log: FastifyBaseLogger): () => void {
  return events.subscribe((event) => {
    const change = registryChange(event);
    if (!change) return;
    reload(change.tenantId, change.deviceId).catch((error: unknown) =>
      log.warn({ err: error, device: change.deviceId }, 'could not read a changed device again; it is read at the next start'),
    );
  });
}
