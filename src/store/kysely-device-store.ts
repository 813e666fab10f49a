/**
 * The devices section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * upserts through `on conflict`, JSON as text, timestamps as bigint (read back with Number()).
 */
import type { Kysely, Selectable } from 'kysely';
import {
  AuditLinkTaken,
  type ApprovalRecord,
  type AuditEntry,
  type AuditHead,
  type AuditQuery,
  type CommandQuery,
  type CommandRecord,
  type DeviceRecord,
  type DeviceStore,
  type EmergencyStop,
  type TwinHistoryEntry,
  type TwinRecord,
} from '../core/device-store.js';
import type { AuditLogTable, DeviceApprovalsTable, DeviceCommandsTable, DeviceTables } from './device-schema.js';
import { KyselyPolicyStateStore } from './kysely-policy-state-store.js';
import { appendTwinHistory, listTwinHistory, listTwins, putTwins } from './kysely-twins.js';
import type { Database } from './schema.js';

const json = (value: unknown): string => JSON.stringify(value ?? null);
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const optionalNumber = (value: number | string | null): number | null => (value === null ? null : Number(value));

export class KyselyDeviceStore extends KyselyPolicyStateStore implements DeviceStore {
  constructor(db: Kysely<Database>) {
    super(db);
  }

  async putDevice(device: DeviceRecord): Promise<void> {
    const row = {
      tenant_id: device.tenantId,
      id: device.id,
      model: json(device.model),
      secret_hash: device.secretHash,
      created_at: device.createdAt,
      updated_at: device.updatedAt,
    };
    await this.db
      .insertInto('devices')
      .values(row)
      .onConflict((conflict) =>
        conflict.columns(['tenant_id', 'id']).doUpdateSet({ model: row.model, secret_hash: row.secret_hash, updated_at: row.updated_at }),
      )
      .execute();
  }

  async getDevice(tenantId: string, id: string): Promise<DeviceRecord | undefined> {
    const row = await this.db.selectFrom('devices').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && deviceFromRow(row);
  }

  async listDevices(tenantId?: string): Promise<DeviceRecord[]> {
    let select = this.db.selectFrom('devices').selectAll();
    if (tenantId !== undefined) select = select.where('tenant_id', '=', tenantId);
    return (await select.orderBy('tenant_id').orderBy('id').execute()).map(deviceFromRow);
  }

  async deleteDevice(tenantId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const result = await transaction.deleteFrom('devices').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      await transaction.deleteFrom('device_twins').where('tenant_id', '=', tenantId).where('device_id', '=', id).execute();
      await transaction.deleteFrom('device_history').where('tenant_id', '=', tenantId).where('device_id', '=', id).execute();
      return Number(result.numDeletedRows) > 0;
    });
  }

  putTwins(twins: readonly TwinRecord[]): Promise<TwinRecord[]> {
    return putTwins(this.db, twins);
  }

  listTwins(tenantId?: string): Promise<TwinRecord[]> {
    return listTwins(this.db, tenantId);
  }

  appendTwinHistory(entries: readonly TwinHistoryEntry[]): Promise<void> {
    return appendTwinHistory(this.db, entries);
  }

  listTwinHistory(query: { tenantId: string; deviceId: string; since?: number; limit?: number }): Promise<TwinHistoryEntry[]> {
    return listTwinHistory(this.db, query);
  }

  async putCommand(command: CommandRecord): Promise<void> {
    const row = commandToRow(command);
    await this.db
      .insertInto('device_commands')
      .values(row)
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet({ state: row.state, updated_at: row.updated_at, output: row.output, error: row.error, approval_id: row.approval_id }),
      )
      .execute();
  }

  async getCommand(tenantId: string, id: string): Promise<CommandRecord | undefined> {
    const row = await this.db.selectFrom('device_commands').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && commandFromRow(row);
  }

  async listCommands(query: CommandQuery): Promise<CommandRecord[]> {
    let select = this.db.selectFrom('device_commands').selectAll();
    if (query.tenantId !== undefined) select = select.where('tenant_id', '=', query.tenantId);
    if (query.deviceId !== undefined) select = select.where('device_id', '=', query.deviceId);
    if (query.states && query.states.length > 0) select = select.where('state', 'in', [...query.states]);
    const rows = await select
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(commandFromRow);
  }

  async putApproval(approval: ApprovalRecord): Promise<void> {
    const row = approvalToRow(approval);
    await this.db
      .insertInto('device_approvals')
      .values(row)
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet({
          status: row.status,
          expires_at: row.expires_at,
          decided_by: row.decided_by,
          decided_at: row.decided_at,
          used_at: row.used_at,
          grants: row.grants,
        }),
      )
      .execute();
  }

  async decideApproval(approval: ApprovalRecord, from: { status: ApprovalRecord['status']; grants: readonly string[] }): Promise<boolean> {
    const row = approvalToRow(approval);
    let update = this.db
      .updateTable('device_approvals')
      .set({ status: row.status, expires_at: row.expires_at, decided_by: row.decided_by, decided_at: row.decided_at, grants: row.grants })
      .where('tenant_id', '=', approval.tenantId)
      .where('id', '=', approval.id)
      .where('status', '=', from.status);
    update =
      from.grants.length === 0
        ? update.where((where) => where.or([where('grants', 'is', null), where('grants', '=', '[]')]))
        : update.where('grants', '=', JSON.stringify(from.grants));
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async voidApprovals(tenantId: string, now: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('device_approvals')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('status', 'in', ['requested', 'granted'])
      .execute();
    if (rows.length === 0) return [];
    await this.db
      .updateTable('device_approvals')
      .set({ status: 'void', decided_at: now })
      .where('tenant_id', '=', tenantId)
      .where('status', 'in', ['requested', 'granted'])
      .execute();
    return rows.map((row) => row.id);
  }

  async getApproval(tenantId: string, id: string): Promise<ApprovalRecord | undefined> {
    const row = await this.db.selectFrom('device_approvals').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && approvalFromRow(row);
  }

  async listApprovals(query: { tenantId: string; status?: ApprovalRecord['status']; limit?: number }): Promise<ApprovalRecord[]> {
    let select = this.db.selectFrom('device_approvals').selectAll().where('tenant_id', '=', query.tenantId);
    if (query.status) select = select.where('status', '=', query.status);
    const rows = await select
      .orderBy('requested_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(approvalFromRow);
  }

  async redeemApproval(tenantId: string, id: string, commandHash: string, keyId: string | null, now: number): Promise<boolean> {
    let update = this.db
      .updateTable('device_approvals')
      .set({ status: 'used', used_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'granted')
      .where('command_hash', '=', commandHash)
      .where('expires_at', '>', now);
    update = keyId === null ? update.where('requested_by', 'is', null) : update.where('requested_by', '=', keyId);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async putEmergencyStop(stop: EmergencyStop): Promise<void> {
    const row = { tenant_id: stop.tenantId, active: stop.active ? 1 : 0, reason: stop.reason, changed_by: stop.changedBy, changed_at: stop.changedAt };
    await this.db
      .insertInto('device_estops')
      .values(row)
      .onConflict((conflict) =>
        conflict.column('tenant_id').doUpdateSet({ active: row.active, reason: row.reason, changed_by: row.changed_by, changed_at: row.changed_at }),
      )
      .execute();
  }

  async listEmergencyStops(): Promise<EmergencyStop[]> {
    const rows = await this.db.selectFrom('device_estops').selectAll().orderBy('tenant_id').execute();
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      active: Boolean(row.active),
      reason: row.reason,
      changedBy: row.changed_by,
      changedAt: Number(row.changed_at),
    }));
  }

  async appendAudit(entries: ReadonlyArray<Omit<AuditEntry, 'seq'>>): Promise<AuditEntry[]> {
    if (entries.length === 0) return [];
    try {
      // One entry (every append of the command path) is one statement, atomic by itself: no transaction around it.
      if (entries.length === 1) {
        const entry = entries[0]!;
        const inserted = await this.db.insertInto('audit_log').values(auditToRow(entry)).returning('seq').executeTakeFirstOrThrow();
        return [{ ...entry, seq: Number(inserted.seq) }];
      }
      return await this.db.transaction().execute(async (transaction) => {
        const written: AuditEntry[] = [];
        for (const entry of entries) {
          const inserted = await transaction.insertInto('audit_log').values(auditToRow(entry)).returning('seq').executeTakeFirstOrThrow();
          written.push({ ...entry, seq: Number(inserted.seq) });
        }
        return written;
      });
    } catch (error) {
      if (linkTaken(error)) throw new AuditLinkTaken(entries[0]!.tenantId);
      throw error;
    }
  }

  async auditHeads(): Promise<AuditHead[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .select(['tenant_id', 'seq', 'hash'])
      .where('seq', 'in', (query) =>
        query
          .selectFrom('audit_log')
          .select((select) => select.fn.max('seq').as('seq'))
          .groupBy('tenant_id'),
      )
      .orderBy('tenant_id')
      .execute();
    return rows.map((row) => ({ tenantId: row.tenant_id, seq: Number(row.seq), hash: row.hash }));
  }

  async auditChain(tenantId: string, afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map(auditFromRow);
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    let select = this.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', query.tenantId);
    if (query.deviceId !== undefined) select = select.where('device_id', '=', query.deviceId);
    if (query.event !== undefined) select = select.where('event', '=', query.event);
    if (query.conversation !== undefined) select = select.where('conversation', '=', query.conversation);
    if (query.commandId !== undefined) select = select.where('command_id', '=', query.commandId);
    if (query.since !== undefined) select = select.where('at', '>=', query.since);
    if (query.until !== undefined) select = select.where('at', '<', query.until);
    const rows = await select
      .orderBy('seq', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(auditFromRow);
  }
}

/** A unique violation of the chain's link (`audit_log_link`), on SQLite or PostgreSQL. */
function linkTaken(error: unknown): boolean {
  const failure = error as { code?: string; constraint?: string; message?: string };
  if (failure.code === '23505') return failure.constraint === 'audit_log_link';
  return failure.code === 'SQLITE_CONSTRAINT_UNIQUE' && /audit_log\.prev_hash/.test(failure.message ?? '');
}

function deviceFromRow(row: Selectable<DeviceTables['devices']>): DeviceRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    model: parse(row.model) as Record<string, unknown>,
    secretHash: row.secret_hash,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function commandToRow(command: CommandRecord): DeviceCommandsTable {
  return {
    id: command.id,
    tenant_id: command.tenantId,
    device_id: command.deviceId,
    kind: command.kind,
    name: command.name,
    input: json(command.input),
    hash: command.hash,
    state: command.state,
    created_at: command.createdAt,
    updated_at: command.updatedAt,
    deadline: command.deadline,
    output: command.output === undefined || command.output === null ? null : json(command.output),
    error: command.error,
    key_id: command.keyId,
    model: command.model,
    conversation: command.conversation,
    approval_id: command.approvalId,
  };
}

function commandFromRow(row: Selectable<DeviceCommandsTable>): CommandRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    kind: row.kind as CommandRecord['kind'],
    name: row.name,
    input: parse(row.input),
    hash: row.hash,
    state: row.state as CommandRecord['state'],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deadline: Number(row.deadline),
    output: parse(row.output),
    error: row.error,
    keyId: row.key_id,
    model: row.model,
    conversation: row.conversation,
    approvalId: row.approval_id,
  };
}

function approvalToRow(approval: ApprovalRecord): DeviceApprovalsTable {
  return {
    id: approval.id,
    tenant_id: approval.tenantId,
    command_hash: approval.commandHash,
    device_id: approval.deviceId,
    kind: approval.kind,
    name: approval.name,
    input: json(approval.input),
    risk: approval.risk,
    reason: approval.reason,
    status: approval.status,
    requested_by: approval.requestedBy,
    requested_at: approval.requestedAt,
    expires_at: approval.expiresAt,
    decided_by: approval.decidedBy,
    decided_at: approval.decidedAt,
    used_at: approval.usedAt,
    grants: JSON.stringify(approval.grants),
    conversation: approval.conversation,
    model: approval.model,
  };
}

function approvalFromRow(row: Selectable<DeviceApprovalsTable>): ApprovalRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    commandHash: row.command_hash,
    deviceId: row.device_id,
    kind: row.kind as ApprovalRecord['kind'],
    name: row.name,
    input: parse(row.input),
    risk: row.risk as ApprovalRecord['risk'],
    reason: row.reason,
    status: row.status as ApprovalRecord['status'],
    requestedBy: row.requested_by,
    requestedAt: Number(row.requested_at),
    expiresAt: Number(row.expires_at),
    decidedBy: row.decided_by,
    decidedAt: optionalNumber(row.decided_at),
    usedAt: optionalNumber(row.used_at),
    grants: row.grants ? (JSON.parse(row.grants) as string[]) : [],
    conversation: row.conversation,
    model: row.model,
  };
}

function auditToRow(entry: Omit<AuditEntry, 'seq'>): Omit<AuditLogTable, 'seq'> {
  return {
    id: entry.id,
    at: entry.at,
    tenant_id: entry.tenantId,
    event: entry.event,
    actor: entry.actor,
    key_id: entry.keyId,
    model: entry.model,
    conversation: entry.conversation,
    source: entry.source,
    device_id: entry.deviceId,
    command_id: entry.commandId,
    approval_id: entry.approvalId,
    detail: json(entry.detail),
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

function auditFromRow(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    seq: Number(row.seq),
    id: row.id,
    at: Number(row.at),
    tenantId: row.tenant_id,
    event: row.event as AuditEntry['event'],
    actor: row.actor,
    keyId: row.key_id,
    model: row.model,
    conversation: row.conversation,
    source: row.source,
    deviceId: row.device_id,
    commandId: row.command_id,
    approvalId: row.approval_id,
    detail: parse(row.detail) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
