/**
 * What the REST API and CLI do besides proposing commands: register devices, read twins,
 * history and commands, decide approvals, engage and clear the emergency stop, read the audit
 * log. Each call checks the principal: a device outside the key's scope does not exist for it;
 * registering, clearing an emergency stop and the audit log need the admin scope; approvals, the
 * admin scope or an approvals scope covering the device (an approver key, which can do nothing
 * else; an approval of a device outside it does not exist for it).
 * Engaging an emergency stop needs only some device scope: stopping must be easy. Every refusal
 * (a grant or a clear without the admin scope, a grant the approval desk refuses, a device
 * outside the key's scope) is audited as a `denial` before it is thrown.
 */
import type {
  ApprovalRecord,
  ApprovalStatus,
  AuditEntry,
  AuditQuery,
  CommandRecord,
  DeviceStore,
  EmergencyStop,
  TwinHistoryEntry,
} from '../core/device-store.js';
import { NimbusError } from '../core/errors.js';
import type { Taint } from '../core/policy-state-store.js';
import { isApprover, mayDecideApproval, mayReadDevice, type Principal } from '../core/principal.js';
import { selfApprovedLocal, type DecisionChannel } from './approval-desk.js';
import type { AuditCheckpoint } from './audit-checkpoint.js';
import type { AuditCheckpointer } from './audit-checkpointer.js';
import type { AuditContext, AuditFields } from './audit-log.js';
import { verifyAudit, type AuditVerification } from './audit-verify.js';
import type { DeviceCore } from './device-core.js';
import type { DeviceGateway } from './device-gateway.js';
import type { RegisteredDevice } from './device-registry.js';
import { actorOf } from './tool-session.js';

/** Throws 403 unless the principal has the admin scope. */
export function requireAdmin(principal: Principal, action: string): void {
  if (!principal.scopes.admin) throw new NimbusError('permission_denied', `${action} needs a key with the admin scope.`);
}

/** Throws 403 unless the principal may decide approvals (the admin scope, or an approvals scope). */
function requireApprover(principal: Principal, action: string): void {
  if (!isApprover(principal))
    throw new NimbusError(
      'permission_denied',
      `${action} needs a key with the admin scope or an approvals scope (scopes.approvals: the devices it decides for).`,
    );
}

export class DeviceAdmin {
  constructor(
    private readonly core: DeviceCore,
    private readonly gateway: DeviceGateway,
    /** Signs checkpoints of the audit chains and holds the latest; verification uses them. */
    private readonly checkpoints?: AuditCheckpointer,
  ) {}

  /** Devices the principal may read: its device scope, or all of its tenant's for an admin. */
  list(principal: Principal): RegisteredDevice[] {
    return this.core.registry.list(principal.tenantId).filter((device) => mayReadDevice(principal, device.record.id));
  }

  /** A device in scope, or 404 (audited: a key asking for a device outside its scope is refused). */
  device(principal: Principal, id: string): RegisteredDevice {
    try {
      return this.find(principal, id);
    } catch (error) {
      this.refused(principal, 'read_device', { deviceId: id }, error as NimbusError).catch((failure: unknown) =>
        this.core.logger.error({ err: failure }, 'could not audit a refusal'),
      );
      throw error;
    }
  }

  /** Registers or updates a device (admin); returns the secret when one was made. */
  register(principal: Principal, id: string, model: unknown, options: { rotate?: boolean; secret?: string }) {
    return this.guard(principal, 'register_device', { deviceId: id }, () => this.registerDevice(principal, id, model, options));
  }

  private async registerDevice(principal: Principal, id: string, model: unknown, options: { rotate?: boolean; secret?: string }) {
    requireAdmin(principal, 'Registering a device');
    const result = await this.core.registry.put(principal.tenantId, id, model, options);
    await this.core.audit.append(this.context(principal), 'device_registered', {
      deviceId: id,
      detail: { created: result.created, secret_rotated: Boolean(result.secret) && !result.created, risk: result.device.model.risk },
    });
    return result;
  }

  /** Removes a device (admin). */
  remove(principal: Principal, id: string): Promise<void> {
    return this.guard(principal, 'remove_device', { deviceId: id }, () => this.removeDevice(principal, id));
  }

  private async removeDevice(principal: Principal, id: string): Promise<void> {
    requireAdmin(principal, 'Removing a device');
    this.find(principal, id);
    await this.core.twins.flush();
    this.core.twins.forget(principal.tenantId, id);
    await this.core.registry.remove(principal.tenantId, id);
    await this.core.audit.append(this.context(principal), 'device_removed', { deviceId: id });
  }

  /**
   * Reads a device again from the store after a change made through another control plane
   * (api/device-registry-sync.ts); one that is gone leaves its twin behind here too.
   */
  async reload(tenantId: string, id: string): Promise<void> {
    if (!(await this.core.registry.refresh(tenantId, id))) this.core.twins.forget(tenantId, id);
  }

  async history(principal: Principal, id: string, query: { since?: number; limit?: number }): Promise<TwinHistoryEntry[]> {
    this.device(principal, id);
    await this.core.twins.flush();
    return this.store().listTwinHistory({ tenantId: principal.tenantId, deviceId: id, ...query });
  }

  async commands(principal: Principal, id: string, query: { states?: CommandRecord['state'][]; limit?: number }): Promise<CommandRecord[]> {
    this.device(principal, id);
    return this.store().listCommands({ tenantId: principal.tenantId, deviceId: id, ...query });
  }

  /** One command of a device in scope, or 404. */
  async command(principal: Principal, id: string, commandId: string): Promise<CommandRecord> {
    this.device(principal, id);
    const command = this.core.tracker.pending(commandId) ?? (await this.store().getCommand(principal.tenantId, commandId));
    if (!command || command.deviceId !== id) throw new NimbusError('not_found', `Device '${id}' has no command '${commandId}'.`);
    return command;
  }

  approvals(principal: Principal, status?: ApprovalStatus, limit?: number): Promise<ApprovalRecord[]> {
    return this.guard(principal, 'list_approvals', {}, async () => {
      requireApprover(principal, 'Listing approvals');
      if (principal.scopes.admin) return this.core.approvals.list(principal.tenantId, status, limit);
      const listed = await this.core.approvals.list(principal.tenantId, status, 1000);
      return listed.filter((approval) => mayDecideApproval(principal, approval.deviceId)).slice(0, limit ?? 100);
    });
  }

  approval(principal: Principal, id: string): Promise<ApprovalRecord> {
    return this.guard(principal, 'read_approval', { approvalId: id }, async () => {
      requireApprover(principal, 'Reading an approval');
      return this.decidable(principal, await this.core.approvals.get(principal.tenantId, id));
    });
  }

  /**
   * Grants or denies an approval request (admin, or an approver of its device); a refused grant or denial is audited. `channel`
   * says where a person decided (the CLI, the console); local mode accepts decisions only from
   * those and records them as self-approved.
   */
  decide(principal: Principal, id: string, grant: boolean, channel: DecisionChannel = 'api'): Promise<ApprovalRecord> {
    return this.guard(principal, grant ? 'grant_approval' : 'deny_approval', { approvalId: id, detail: { reason: 'approval_refused', channel } }, () =>
      this.decideApproval(principal, id, grant, channel),
    );
  }

  private async decideApproval(principal: Principal, id: string, grant: boolean, channel: DecisionChannel): Promise<ApprovalRecord> {
    requireApprover(principal, grant ? 'Granting an approval' : 'Denying an approval');
    const approvals = this.core.approvals;
    this.decidable(principal, await approvals.get(principal.tenantId, id));
    const approval = grant
      ? await approvals.grant(principal.tenantId, id, principal, channel)
      : await approvals.deny(principal.tenantId, id, principal, channel);
    const waiting = grant && approval.status === 'requested';
    await this.core.audit.append(this.context(principal), grant ? 'approval_granted' : 'approval_denied', {
      deviceId: approval.deviceId,
      approvalId: id,
      detail: {
        kind: approval.kind,
        name: approval.name,
        input: approval.input,
        risk: approval.risk,
        status: approval.status,
        expires_at: approval.expiresAt,
        requested_by: approval.requestedBy,
        grants: approval.grants,
        channel,
        ...(waiting ? { waiting_for: 'a second admin key' } : {}),
        ...(principal.local ? { [selfApprovedLocal]: true } : {}),
      },
    });
    return approval;
  }

  /** The approval, where the principal may decide for its device; 404 otherwise, as if it did not exist. */
  private decidable(principal: Principal, approval: ApprovalRecord): ApprovalRecord {
    if (!mayDecideApproval(principal, approval.deviceId)) throw new NimbusError('not_found', `No approval '${approval.id}'. 'nimbus approvals' lists them.`);
    return approval;
  }

  /** The tenant's emergency stop (inactive when never engaged). */
  emergencyStop(principal: Principal): EmergencyStop {
    return this.core.estops.get(principal.tenantId) ?? { tenantId: principal.tenantId, active: false, reason: '', changedBy: '', changedAt: 0 };
  }

  /** Engages (any key with a device scope) or clears (admin) the tenant's emergency stop; a refusal is audited. */
  setEmergencyStop(principal: Principal, active: boolean, reason: string): Promise<EmergencyStop> {
    return this.guard(principal, active ? 'engage_emergency_stop' : 'clear_emergency_stop', { detail: { requested_reason: reason } }, () =>
      this.changeEmergencyStop(principal, active, reason),
    );
  }

  private async changeEmergencyStop(principal: Principal, active: boolean, reason: string): Promise<EmergencyStop> {
    if (active && !principal.scopes.admin && principal.scopes.devices !== '*' && principal.scopes.devices.length === 0) {
      throw new NimbusError('permission_denied', 'Engaging the emergency stop needs a key with a device scope or the admin scope.');
    }
    if (!active) requireAdmin(principal, 'Clearing the emergency stop');
    const stop: EmergencyStop = { tenantId: principal.tenantId, active, reason, changedBy: actorOf(principal), changedAt: this.core.clock.now() };
    await this.store().putEmergencyStop(stop);
    await this.gateway.publishEmergencyStop(stop);
    await this.core.audit.append(this.context(principal), active ? 'emergency_stop' : 'emergency_clear', { detail: { reason } });
    if (active) {
      // An approval given before the stop was given for a world that has changed since: none survives it.
      const voided = await this.core.approvals.voidAll(principal.tenantId);
      if (voided.length > 0)
        await this.core.audit.append(this.context(principal), 'approvals_voided', { detail: { approvals: voided, reason: 'emergency_stop' } });
    }
    return stop;
  }

  /** Taints in force in the principal's tenant (admin). */
  async taints(principal: Principal): Promise<Taint[]> {
    requireAdmin(principal, 'Reading taints');
    return this.core.policyState.list(principal.tenantId);
  }

  /**
   * Clears the taint of a key and/or a conversation (admin), audited: an admin who has checked
   * what a device sent may let actuations run again without approval before the window ends.
   */
  async clearTaint(principal: Principal, target: { key?: string; conversation?: string }): Promise<number> {
    requireAdmin(principal, 'Clearing a taint');
    const subjects = [
      ...(target.key ? [target.key === 'local' ? 'local' : `key:${target.key}`] : []),
      ...(target.conversation ? [`conversation:${target.conversation}`] : []),
    ];
    if (subjects.length === 0)
      throw new NimbusError('missing_required_parameter', "Name what to clear: 'key' (a key id, or local) and/or 'conversation'.", { param: 'key' });
    const cleared = await this.core.policyState.clear(principal.tenantId, subjects);
    await this.core.audit.append(this.context(principal), 'taint_cleared', { detail: { subjects, cleared } });
    return cleared;
  }

  /** The audit log of the principal's tenant (admin). */
  audit(principal: Principal, query: Omit<AuditQuery, 'tenantId'>): Promise<AuditEntry[]> {
    return this.guard(principal, 'read_audit', {}, async () => {
      requireAdmin(principal, 'Reading the audit log');
      await this.core.audit.settle();
      return this.core.audit.list({ ...query, tenantId: principal.tenantId });
    });
  }

  /**
   * Verifies the tenant's audit chain (admin): every hash and link, and the chain against a signed
   * checkpoint: `given`, else this server's latest. The signature is checked with this server's key.
   */
  verifyAudit(principal: Principal, given?: AuditCheckpoint): Promise<AuditVerification> {
    return this.guard(principal, 'verify_audit', {}, async () => {
      requireAdmin(principal, 'Verifying the audit log');
      await this.core.audit.settle();
      const checkpoint = given ?? this.checkpoints?.checkpoint(principal.tenantId);
      return verifyAudit(this.core.store, principal.tenantId, checkpoint, this.checkpoints?.publicKey);
    });
  }

  /** The public key (PEM) that verifies this server's audit checkpoints, when it signs them. */
  get auditPublicKey(): string | undefined {
    return this.checkpoints?.publicKey;
  }

  /** A device the principal may read (see `list`), or 404; not audited (the caller is). */
  private find(principal: Principal, id: string): RegisteredDevice {
    const device = mayReadDevice(principal, id) ? this.core.registry.get(principal.tenantId, id) : undefined;
    if (!device) throw new NimbusError('not_found', `No device '${id}' is in this key's device scope. GET /v1/devices lists the ones that are.`);
    return device;
  }

  /** Runs a human or admin action; a refusal (a NimbusError) is audited as a denial before it is thrown. */
  private async guard<T>(principal: Principal, action: string, fields: AuditFields, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof NimbusError) await this.refused(principal, action, fields, error);
      throw error;
    }
  }

  private refused(principal: Principal, action: string, fields: AuditFields, error: NimbusError): Promise<unknown> {
    return this.core.audit.refuse(this.context(principal), [
      { event: 'denial', ...fields, detail: { reason: error.code, action, code: error.code, message: error.message, ...fields.detail } },
    ]);
  }

  private store(): DeviceStore {
    return this.core.store;
  }

  private context(principal: Principal): AuditContext {
    return { tenantId: principal.tenantId, actor: actorOf(principal), keyId: principal.keyId, model: null, conversation: null, source: 'admin' };
  }
}
