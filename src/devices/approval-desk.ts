/**
 * Human approvals, out of band: a command that needs one gets an approval request bound to the
 * sha256 of the exact command; a human with the admin scope grants or denies it through the
 * admin API, CLI or console (never a tool argument, never a model's output); a grant is valid for
 * a short time and for one use, by the key that asked. The key that asked can never grant it; a
 * critical command needs grants from two distinct keys, neither of them the asker. In local mode
 * (one principal, no keys) a grant comes only from the CLI or the console and is recorded as
 * `self_approved_local`. An emergency stop voids every approval requested or granted before it.
 */
import type { Clock } from '../core/clock.js';
import type { ApprovalRecord, ApprovalStatus, CommandKind, DeviceStore, RiskTier } from '../core/device-store.js';
import { NimbusError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Principal } from '../core/principal.js';
import { actorOf } from './tool-session.js';

/** Where a human decision came from, as the CLI and the console say (local mode requires one). */
export type DecisionChannel = 'cli' | 'console' | 'api';

/** How local mode records its one principal approving its own command. */
export const selfApprovedLocal = 'self_approved_local';

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
      grants: [],
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

  /**
   * Grants a pending request; the grant lapses after the grant TTL (half for critical). A critical
   * request stays `requested` after its first grant, until a second key grants it too.
   */
  async grant(tenantId: string, id: string, by: Principal, channel: DecisionChannel = 'api'): Promise<ApprovalRecord> {
    const approval = await this.pendingRequest(tenantId, id, 'grant');
    const actor = this.decider(approval, by, channel);
    if (actor !== selfApprovedLocal && approval.grants.includes(actor)) {
      throw new NimbusError(
        'permission_denied',
        `Approval '${id}' is for a critical command and ${actor} already granted it: a second admin, with another key, must grant it too.`,
      );
    }
    const now = this.clock.now();
    const grants = [...approval.grants, actor];
    const needed = approval.risk === 'critical' && actor !== selfApprovedLocal ? 2 : 1;
    const grantMs = approval.risk === 'critical' ? Math.floor(this.ttl.grantMs / 2) : this.ttl.grantMs;
    const next: ApprovalRecord =
      grants.length >= needed
        ? { ...approval, status: 'granted', grants, decidedBy: actor, decidedAt: now, expiresAt: now + grantMs }
        : { ...approval, grants };
    await this.write(next, approval);
    return next;
  }

  /** Denies a pending request (the asker may withdraw its own; in local mode only from the CLI or console). */
  async deny(tenantId: string, id: string, by: Principal, channel: DecisionChannel = 'api'): Promise<ApprovalRecord> {
    const approval = await this.pendingRequest(tenantId, id, 'deny');
    if (by.local && channel === 'api') throw localChannelError(id);
    const denied: ApprovalRecord = { ...approval, status: 'denied', decidedBy: by.local ? selfApprovedLocal : actorOf(by), decidedAt: this.clock.now() };
    await this.write(denied, approval);
    return denied;
  }

  /** Voids every requested or granted approval of a tenant (an emergency stop); returns their ids. */
  voidAll(tenantId: string): Promise<string[]> {
    return this.store.voidApprovals(tenantId, this.clock.now());
  }

  /** Uses a granted approval for one command, atomically; false when it was used, lapsed or does not fit. */
  redeem(approval: ApprovalRecord, commandHash: string, keyId: string | null): Promise<boolean> {
    return this.store.redeemApproval(approval.tenantId, approval.id, commandHash, keyId, this.clock.now());
  }

  /** Who may grant: never the key that asked; in local mode, a person at the CLI or the console. */
  private decider(approval: ApprovalRecord, by: Principal, channel: DecisionChannel): string {
    if (by.local) {
      if (channel === 'api') throw localChannelError(approval.id);
      return selfApprovedLocal;
    }
    if (by.keyId === null || (approval.requestedBy !== null && approval.requestedBy === by.keyId)) {
      throw new NimbusError(
        'permission_denied',
        `Approval '${approval.id}' was requested by this key, and a key cannot approve its own command: another admin, with another key, must grant it.`,
      );
    }
    return actorOf(by);
  }

  /** Writes a decision only if nobody decided (or voided) the approval since it was read. */
  private async write(next: ApprovalRecord, read: ApprovalRecord): Promise<void> {
    if (!(await this.store.decideApproval(next, { status: read.status, grants: read.grants }))) {
      throw new NimbusError(
        'conflict',
        `Approval '${read.id}' changed while it was being decided (another decision, or an emergency stop voided it). Read it again.`,
      );
    }
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

function localChannelError(id: string): NimbusError {
  return new NimbusError(
    'permission_denied',
    `In local mode approvals are decided only by a person at the CLI ('nimbus approvals grant ${id}') or in the console; it is recorded as ${selfApprovedLocal}.`,
  );
}
