/**
 * Device records as the REST API shows them: snake_case, ISO-free (Unix ms, like the store),
 * secrets never (only their one-time issue at registration). One function per record kind.
 */
import type { ApprovalRecord, AuditEntry, CommandRecord, EmergencyStop, TwinHistoryEntry, TwinRecord } from '../core/device-store.js';
import { NimbusError } from '../core/errors.js';
import type { ActionReport } from '../devices/device-gateway.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { twinDelta } from '../devices/twin.js';

export function twinView(twin: TwinRecord): object {
  return {
    object: 'device.twin',
    device: twin.deviceId,
    version: twin.version,
    connection: twin.connection,
    desired: twin.desired,
    reported: twin.reported,
    delta: twinDelta(twin),
    reported_at: twin.reportedAt,
    updated_at: twin.updatedAt,
  };
}

export function deviceView(device: RegisteredDevice, twin: TwinRecord): object {
  const { model } = device;
  return {
    id: device.record.id,
    object: 'device',
    title: model.title,
    kind: model.kind ?? null,
    risk: model.risk,
    connection: twin.connection,
    properties: Object.values(model.properties).map((property) => ({ name: property.name, read_only: property.readOnly, risk: property.risk })),
    actions: Object.values(model.actions).map((action) => ({ name: action.name, safe: action.safe, idempotent: action.idempotent, risk: action.risk })),
    events: Object.keys(model.events),
    model: model.source,
    twin: twinView(twin),
    created_at: device.record.createdAt,
    updated_at: device.record.updatedAt,
  };
}

export function commandView(command: CommandRecord): object {
  return {
    id: command.id,
    object: 'device.command',
    device: command.deviceId,
    kind: command.kind,
    name: command.name,
    input: command.input,
    state: command.state,
    output: command.output,
    error: command.error,
    hash: command.hash,
    approval: command.approvalId,
    key: command.keyId,
    model: command.model,
    conversation: command.conversation,
    created_at: command.createdAt,
    updated_at: command.updatedAt,
    deadline: command.deadline,
  };
}

export function historyView(entry: TwinHistoryEntry): object {
  return { object: 'device.history', device: entry.deviceId, version: entry.version, at: entry.at, kind: entry.kind, data: entry.data };
}

export function approvalView(approval: ApprovalRecord): object {
  return {
    id: approval.id,
    object: 'approval',
    status: approval.status,
    device: approval.deviceId,
    kind: approval.kind,
    name: approval.name,
    input: approval.input,
    risk: approval.risk,
    reason: approval.reason,
    command_hash: approval.commandHash,
    requested_by: approval.requestedBy,
    requested_at: approval.requestedAt,
    expires_at: approval.expiresAt,
    decided_by: approval.decidedBy,
    decided_at: approval.decidedAt,
    grants: approval.grants,
    grants_needed: approval.risk === 'critical' && approval.decidedBy !== 'self_approved_local' && !approval.grants.includes('self_approved_local') ? 2 : 1,
    used_at: approval.usedAt,
    conversation: approval.conversation,
    model: approval.model,
  };
}

export function emergencyStopView(stop: EmergencyStop): object {
  return { object: 'emergency_stop', active: stop.active, reason: stop.reason, changed_by: stop.changedBy || null, changed_at: stop.changedAt || null };
}

export function auditView(entry: AuditEntry): object {
  return {
    seq: entry.seq,
    id: entry.id,
    object: 'audit.entry',
    at: entry.at,
    event: entry.event,
    actor: entry.actor,
    key: entry.keyId,
    model: entry.model,
    conversation: entry.conversation,
    source: entry.source,
    device: entry.deviceId,
    command: entry.commandId,
    approval: entry.approvalId,
    detail: entry.detail,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

/** An action as the chat response and REST list it. */
export function actionView(report: ActionReport, toolCallId?: string): object {
  return {
    ...(toolCallId ? { tool_call_id: toolCallId } : {}),
    ...(report.tool ? { tool: report.tool } : {}),
    device: report.deviceId,
    kind: report.kind,
    ...(report.name ? { name: report.name } : {}),
    ...(report.input !== undefined ? { input: report.input } : {}),
    status: report.status,
    ...(report.reason ? { reason: report.reason } : {}),
    ...(report.param ? { param: report.param } : {}),
    message: report.message,
    ...(report.risk ? { risk: report.risk } : {}),
    ...(report.commandId ? { command: report.commandId } : {}),
    ...(report.approvalId ? { approval: report.approvalId } : {}),
    ...(report.output !== undefined ? { output: report.output } : {}),
    ...(report.error ? { error: report.error } : {}),
    ...(report.stateBefore ? { state_before: report.stateBefore } : {}),
    ...(report.stateAfter ? { state_after: report.stateAfter } : {}),
    ...(report.untrusted ? { untrusted: true } : {}),
  };
}

/** The HTTP error for a denied proposal: stable codes per denial reason. */
export function denialError(report: ActionReport, param: string): NimbusError {
  const message = report.message;
  switch (report.reason) {
    case 'out_of_scope':
    case 'unknown_affordance':
      return new NimbusError('not_found', message);
    case 'read_only':
    case 'invalid_input':
      // Name the field: a property's arguments already start at `value`, an action's sit under `input`.
      return new NimbusError('invalid_value', message, { param: report.param ? (param === 'input' ? `input.${report.param}` : report.param) : param });
    case 'too_many_devices':
      return new NimbusError('invalid_request', message);
    case 'rate_limited':
    case 'approval_rate_limited':
    case 'key_rate_limited':
      return new NimbusError('rate_limit_exceeded', message, { headers: { 'retry-after': String(Math.ceil((report.retryAfterMs ?? 1000) / 1000)) } });
    case 'device_offline':
      return new NimbusError('device_offline', message);
    case 'emergency_stop':
      return new NimbusError('emergency_stop', message);
    default:
      return new NimbusError('permission_denied', message);
  }
}
