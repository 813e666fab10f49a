/**
 * Human approvals, out of band: a command that needs one gets an approval request bound to the
 * sha256 of the exact command; a human with the admin scope grants or denies it through the
 * admin API or CLI (never a tool argument); a grant is valid for a short time and for one use,
 * by the key that asked. Critical commands need a second person where keys exist.
 */
import type { Clock } from '../core/clock.js';
import type { ApprovalRecord, ApprovalStatus, CommandKind, DeviceStore, RiskTier } from '../core/device-store.js';
import { NimbusError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Principal } from '../core/principal.js';
import { actorOf } from './tool-session.js';

/** What a new approval request is for. */
export interface ApprovalRequest {
  tenantId: string;
  commandHash: string;
  deviceId: string;
  kind: CommandKind;
  name: string;
  input: unknown;
  risk: RiskTier;
  reason: string;
  requestedBy: string | null;
  conversation: string | null;
  model: string | null;
}

export class ApprovalDesk {
  constructor(
    private readonly store: DeviceStore,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly ttl: { requestMs: number; grantMs: number },
  ) {}

  /** Records a new request, waiting for a human. */
  async request(fields: ApprovalRequest): Promise<ApprovalRecord> {
    const now = this.clock.now();
    const approval: ApprovalRecord = {
      ...fields,
      id: newId('apr_'),
      status: 'requested',
      requestedAt: now,
      expiresAt: now + this.ttl.requestMs,
      decidedBy: null,
      decidedAt: null,
      usedAt: null,
    };
    await this.store.putApproval(approval);
    return approval;
  }

  /** One approval, with a lapsed request or grant shown as `expired`; 404 when the tenant has none by that id. */
  async get(tenantId: string, id: string): Promise<ApprovalRecord> {
    const approval = await this.store.getApproval(tenantId, id);
    if (!approval) throw new NimbusError('not_found', `No approval '${id}'. 'nimbus approvals' lists them.`);
    return this.current(approval);
  }

  /** The approvals with these ids that exist in the tenant. */
  async lookup(tenantId: string, ids: readonly string[]): Promise<ApprovalRecord[]> {
    const found = await Promise.all([...new Set(ids)].map((id) => this.store.getApproval(tenantId, id)));
    return found.filter((approval): approval is ApprovalRecord => approval !== undefined).map((approval) => this.current(approval));
  }

  /** Approvals of a tenant, newest first. */
  async list(tenantId: string, status?: ApprovalStatus, limit = 100): Promise<ApprovalRecord[]> {
    const stored = await this.store.listApprovals({ tenantId, limit: status ? 1000 : limit });
    return stored
      .map((approval) => this.current(approval))
      .filter((approval) => !status || approval.status === status)
      .slice(0, limit);
  }

  /** Grants a pending request; the grant lapses after the grant TTL (half for critical). */
  async grant(tenantId: string, id: string, by: Principal): Promise<ApprovalRecord> {
    const approval = await this.pendingRequest(tenantId, id, 'grant');
    if (approval.risk === 'critical' && approval.requestedBy !== null && approval.requestedBy === by.keyId) {
      throw new NimbusError('permission_denied', `Approval '${id}' is for a critical command: it must be granted by a different key than the one that asked.`);
    }
    const now = this.clock.now();
    const grantMs = approval.risk === 'critical' ? Math.floor(this.ttl.grantMs / 2) : this.ttl.grantMs;
    const granted: ApprovalRecord = { ...approval, status: 'granted', decidedBy: actorOf(by), decidedAt: now, expiresAt: now + grantMs };
    await this.store.putApproval(granted);
    return granted;
  }

  /** Denies a pending request. */
  async deny(tenantId: string, id: string, by: Principal): Promise<ApprovalRecord> {
    const approval = await this.pendingRequest(tenantId, id, 'deny');
    const denied: ApprovalRecord = { ...approval, status: 'denied', decidedBy: actorOf(by), decidedAt: this.clock.now() };
    await this.store.putApproval(denied);
    return denied;
  }

  /** Uses a granted approval for one command, atomically; false when it was used, lapsed or does not fit. */
  redeem(approval: ApprovalRecord, commandHash: string, keyId: string | null): Promise<boolean> {
    return this.store.redeemApproval(approval.tenantId, approval.id, commandHash, keyId, this.clock.now());
  }

  private async pendingRequest(tenantId: string, id: string, verb: string): Promise<ApprovalRecord> {
    const approval = await this.get(tenantId, id);
    if (approval.status !== 'requested') {
      throw new NimbusError(
        'conflict',
        `Approval '${id}' is ${approval.status}; only a requested approval can be ${verb === 'grant' ? 'granted' : 'denied'}. Ask for the command again to get a new one.`,
      );
    }
    return approval;
  }

  private current(approval: ApprovalRecord): ApprovalRecord {
    const lapsed = (approval.status === 'requested' || approval.status === 'granted') && approval.expiresAt <= this.clock.now();
    return lapsed ? { ...approval, status: 'expired' } : approval;
  }
}
