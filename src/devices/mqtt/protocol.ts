/**
 * The command protocol on the wire. A command carries its correlation id and reply topic in the
 * payload, so it works on MQTT 3.1.1 (aedes) and 5 alike; on MQTT 5 the same values also travel
 * as response topic and correlation data. Devices answer with the id and a status.
 *
 *   command (Nimbus -> device, on `set` or `actions/NAME`):
 *     { "id": "cmd_...", "replyTo": "<topic>", "deadline": 1700000000000, "desired": {...} | "input": ... }
 *   reply (device -> Nimbus, on replyTo):
 *     { "id": "cmd_...", "status": "acked" | "failed" | "rejected", "output"?: ..., "error"?: "..." }
 */
import type { ConnectionState } from '../../core/device-store.js';

/** A command as a device receives it. */
export interface CommandMessage {
  id: string;
  replyTo: string;
  /** Unix ms; a device must ignore a command that arrives after it. */
  deadline: number;
  /** Property values to apply (on `set`). */
  desired?: Record<string, unknown>;
  /** The action's input (on `actions/NAME`). */
  input?: unknown;
}

/** A device's answer to a command. */
export interface ReplyMessage {
  id: string;
  status: 'acked' | 'failed' | 'rejected';
  output?: unknown;
  error?: string;
}

/** Parses JSON into an object, or undefined. */
export function parseObject(payload: Buffer | string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a reply; `correlation` (MQTT 5 correlation data) supplies the id when the payload lacks one. */
export function parseReply(payload: Buffer | string, correlation?: string): ReplyMessage | undefined {
  const body = parseObject(payload);
  if (!body) return undefined;
  const id = typeof body.id === 'string' ? body.id : correlation;
  const status = body.status;
  if (!id || (status !== 'acked' && status !== 'failed' && status !== 'rejected')) return undefined;
  return {
    id,
    status,
    ...(body.output !== undefined ? { output: body.output } : {}),
    ...(typeof body.error === 'string' ? { error: body.error.slice(0, 500) } : {}),
  };
}

/** Parses a command, as a device does; undefined when malformed. */
export function parseCommand(payload: Buffer | string): CommandMessage | undefined {
  const body = parseObject(payload);
  if (!body || typeof body.id !== 'string' || typeof body.replyTo !== 'string' || typeof body.deadline !== 'number') return undefined;
  const desired = body.desired;
  if (desired !== undefined && (desired === null || typeof desired !== 'object' || Array.isArray(desired))) return undefined;
  return {
    id: body.id,
    replyTo: body.replyTo,
    deadline: body.deadline,
    ...(desired !== undefined ? { desired: desired as Record<string, unknown> } : {}),
    ...('input' in body ? { input: body.input } : {}),
  };
}

/** Parses a `$state` payload; anything unknown reads as `unknown`. */
export function parseConnection(payload: Buffer | string): ConnectionState {
  const text = payload.toString().trim();
  return text === 'online' || text === 'offline' || text === 'lost' ? text : 'unknown';
}
