/** Table types of the devices section (migration 0010), for Kysely; JSON columns hold text. */
import type { Generated } from 'kysely';

export interface DevicesTable {
  tenant_id: string;
  id: string;
  model: string;
  secret_hash: string;
  created_at: number;
  updated_at: number;
}

export interface DeviceTwinsTable {
  tenant_id: string;
  device_id: string;
  desired: string;
  reported: string;
  version: number;
  connection: string;
  reported_at: number | null;
  updated_at: number;
}

export interface DeviceHistoryTable {
  seq: Generated<number>;
  tenant_id: string;
  device_id: string;
  version: number;
  /** 0 for a change; the event's place among events at one version (migration 0049). */
  ordinal: Generated<number>;
  at: number;
  kind: string;
  data: string;
}

export interface DeviceCommandsTable {
  id: string;
  tenant_id: string;
  device_id: string;
  kind: string;
  name: string;
  input: string;
  hash: string;
  state: string;
  created_at: number;
  updated_at: number;
  deadline: number;
  output: string | null;
  error: string | null;
  key_id: string | null;
  model: string | null;
  conversation: string | null;
  approval_id: string | null;
}

export interface DeviceApprovalsTable {
  id: string;
  tenant_id: string;
  command_hash: string;
  device_id: string;
  kind: string;
  name: string;
  input: string;
  risk: string;
  reason: string;
  status: string;
  requested_by: string | null;
  requested_at: number;
  expires_at: number;
  decided_by: string | null;
  decided_at: number | null;
  used_at: number | null;
  /** JSON list of who granted it (migration 0024); null on older rows. */
  grants?: string | null;
  conversation: string | null;
  model: string | null;
}

export interface DeviceEstopsTable {
  tenant_id: string;
  active: number;
  reason: string;
  changed_by: string;
  changed_at: number;
}

export interface AuditLogTable {
  seq: Generated<number>;
  id: string;
  at: number;
  tenant_id: string;
  event: string;
  actor: string;
  key_id: string | null;
  model: string | null;
  conversation: string | null;
  source: string;
  device_id: string | null;
  command_id: string | null;
  approval_id: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface DeviceTaintsTable {
  tenant_id: string;
  subject: string;
  until: number;
  reason: string;
  set_at: number;
}

export interface DeviceStepsTable {
  seq: Generated<number>;
  tenant_id: string;
  kind: string;
  key_subject: string;
  conversation: string | null;
  device_id: string;
  at: number;
}

export interface DeviceIdempotencyTable {
  tenant_id: string;
  key_subject: string;
  idempotency_key: string;
  request_hash: string;
  state: string;
  status: number | null;
  body: string | null;
  created_at: number;
  expires_at: number;
}

/** The devices section's tables; `Database` extends it. */
export interface DeviceTables {
  devices: DevicesTable;
  device_twins: DeviceTwinsTable;
  device_history: DeviceHistoryTable;
  device_commands: DeviceCommandsTable;
  device_approvals: DeviceApprovalsTable;
  device_estops: DeviceEstopsTable;
  audit_log: AuditLogTable;
  device_taints: DeviceTaintsTable;
  device_steps: DeviceStepsTable;
  device_idempotency: DeviceIdempotencyTable;
}
