/**
 * Twin arithmetic, pure: desired and reported state with one version that grows on every change
 * (AWS IoT Shadow, Eclipse Ditto). Repeating a value (a retained message seen again after a
 * reconnect) changes nothing and keeps the version.
 */
import type { ConnectionState, TwinRecord } from '../core/device-store.js';
import { canonicalJson } from './canonical-json.js';

/** A twin that has seen nothing yet. */
export function emptyTwin(tenantId: string, deviceId: string, at: number): TwinRecord {
  return { tenantId, deviceId, desired: {}, reported: {}, version: 0, connection: 'unknown', reportedAt: null, updatedAt: at };
}

/** The values of `patch` that differ from `state`. */
export function changedValues(state: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) if (!(key in state) || canonicalJson(state[key]) !== canonicalJson(value)) changed[key] = value;
  return changed;
}

/** The result of applying something to a twin: the new twin, and what changed (empty when nothing did). */
export interface TwinChange {
  twin: TwinRecord;
  changed: Record<string, unknown>;
}

/** Merges reported values; the version grows only when a value changed. */
export function applyReported(twin: TwinRecord, patch: Record<string, unknown>, at: number): TwinChange {
  const changed = changedValues(twin.reported, patch);
  if (Object.keys(changed).length === 0) return { twin: { ...twin, reportedAt: at }, changed };
  return { twin: { ...twin, reported: { ...twin.reported, ...changed }, version: twin.version + 1, reportedAt: at, updatedAt: at }, changed };
}

/** Merges desired values; the version grows only when a value changed. */
export function applyDesired(twin: TwinRecord, patch: Record<string, unknown>, at: number): TwinChange {
  const changed = changedValues(twin.desired, patch);
  if (Object.keys(changed).length === 0) return { twin, changed };
  return { twin: { ...twin, desired: { ...twin.desired, ...changed }, version: twin.version + 1, updatedAt: at }, changed };
}

/** Records a lifecycle change; the version grows when the state changed. */
export function applyConnection(twin: TwinRecord, connection: ConnectionState, at: number): TwinChange {
  if (twin.connection === connection) return { twin, changed: {} };
  return { twin: { ...twin, connection, version: twin.version + 1, updatedAt: at }, changed: { connection } };
}

/** Desired values the device has not reported yet (the work still to do). */
export function twinDelta(twin: TwinRecord): Record<string, unknown> {
  return changedValues(twin.reported, twin.desired);
}
