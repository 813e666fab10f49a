/** Turns device changes (twins, audit entries) into live events for `/v1/events`. */
import type { LiveEvent } from '../core/live-events.js';
import type { DeviceChange } from '../devices/device-gateway.js';
import { auditView, twinView } from './device-views.js';

/** The live event of a device change, in the public API's shape. */
export function deviceLiveEvent(change: DeviceChange): LiveEvent {
  if (change.kind === 'twin') {
    const { twin } = change;
    return { type: 'twin', tenantId: twin.tenantId, keyId: null, deviceId: twin.deviceId, adminOnly: false, data: twinView(twin) };
  }
  const { entry } = change;
  const type = entry.event.startsWith('approval_') ? 'approval' : entry.event === 'emergency_stop' || entry.event === 'emergency_clear' ? 'estop' : 'audit';
  return { type, tenantId: entry.tenantId, keyId: entry.keyId, deviceId: entry.deviceId, adminOnly: type !== 'estop', data: auditView(entry) };
}
