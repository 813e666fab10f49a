/**
 * The devices section of the Store contract: registered devices and their thing models, twins
 * with history, commands, approvals, emergency stops and the audit log. Every method is async so
 * a network database fits; every record is tenant-scoped. The audit log has no update or delete:
 * it is append-only by contract, and each entry carries the hash of the one before it.
 */
import type { PolicyStateStore } from './policy-state-store.js';

/** How much harm a wrong command can do; high and critical wait for a human approval. */
export type RiskTier = 'low' | 'high' | 'critical';

/** What a device's `$state` topic last said; `unknown` until it says anything. */
export type ConnectionState = 'unknown' | 'online' | 'offline' | 'lost';

/** A command's life: pending until the device answers or the deadline passes. */
export type CommandState = 'pending' | 'acked' | 'failed' | 'timed_out' | 'rejected';

/** Writing a property (`set`) or invoking an action (`invoke`). */
export type CommandKind = 'set' | 'invoke';

/** A registered device: its thing model as registered, and the hash of its MQTT secret. */
export interface DeviceRecord {
  tenantId: string;
  id: string;
  /** The W3C WoT Thing Model, as registered (already validated). */
  model: Record<string, unknown>;
  /** sha256 (hex) of the device's MQTT password; the secret itself is shown once and never stored. */
  secretHash: string;
  createdAt: number;
  updatedAt: number;
}

/** Desired and reported state of one device, with a version that grows on every change. */
export interface TwinRecord {
  tenantId: string;
  deviceId: string;
  desired: Record<string, unknown>;
  reported: Record<string, unknown>;
  version: number;
  connection: ConnectionState;
  /** Unix ms of the last reported-state message; null before the first. */
  reportedAt: number | null;
  updatedAt: number;
}

/** One change of a twin, or one event a device sent. */
export interface TwinHistoryEntry {
  tenantId: string;
  deviceId: string;
  /** The twin's version after this change (events keep the version they arrived at). */
  version: number;
  /**
   * 0 for a change; for an event, how many events came before it at the same version. With
   * `version` and `kind` it names the row, so a message every control plane records is stored once.
   */
  ordinal?: number;
  at: number;
  kind: 'reported' | 'desired' | 'connection' | 'event';
  /** The changed values, the new connection state, or `{ name, data }` of an event. */
  data: unknown;
}

/** A command sent to (or refused by) a device. */
export interface CommandRecord {
  id: string;
  tenantId: string;
  deviceId: string;
  kind: CommandKind;
  /** The property written or the action invoked. */
  name: string;
  input: unknown;
  /** sha256 of the canonical command (tenant, device, kind, name, input): what approvals bind to. */
  hash: string;
  state: CommandState;
  createdAt: number;
  updatedAt: number;
  /** Unix ms after which a pending command is timed out. */
  deadline: number;
  /** The device's output (actions) on ack. */
  output: unknown;
  /** Why it failed or was rejected, in words. */
  error: string | null;
  /** Who asked: the API key id; null in local mode. */
  keyId: string | null;
  model: string | null;
  conversation: string | null;
  approvalId: string | null;
}

/**
 * requested -> granted -> used; or denied; or expired before being granted or used; or void (an
 * emergency stop was engaged while it was requested or granted: it can never be used).
 */
export type ApprovalStatus = 'requested' | 'granted' | 'denied' | 'used' | 'expired' | 'void';

/** A one-time human approval of one exact command. */
export interface ApprovalRecord {
  id: string;
  tenantId: string;
  /** The hash of the exact command it allows; any other command does not match. */
  commandHash: string;
  deviceId: string;
  kind: CommandKind;
  name: string;
  input: unknown;
  risk: RiskTier;
  /** Why approval is needed (`risk high`, `untrusted content in context`). */
  reason: string;
  status: ApprovalStatus;
  /** The key that proposed the command; only it may redeem the approval. */
  requestedBy: string | null;
  requestedAt: number;
  /** Until granted: when the request lapses. Once granted: when the grant lapses (short). */
  expiresAt: number;
  /** Who granted or denied it (`key:ID`, or `self_approved_local` in local mode); for critical ones the second grant. */
  decidedBy: string | null;
  /** Everyone who granted it so far, in order (critical commands need two distinct keys). */
  grants: string[];
  decidedAt: number | null;
  usedAt: number | null;
  conversation: string | null;
  model: string | null;
}

/** A tenant's emergency stop: while active, every actuation is refused. */
export interface EmergencyStop {
  tenantId: string;
  active: boolean;
  reason: string;
  changedBy: string;
  changedAt: number;
}

/** What an audit entry records. */
export type AuditEvent =
  | 'proposal'
  | 'taint'
  | 'taint_cleared'
  | 'approvals_voided'
  | 'denial'
  | 'approval_requested'
  | 'approval_granted'
  | 'approval_denied'
  | 'approval_redeemed'
  | 'execution'
  | 'outcome'
  | 'read'
  | 'emergency_stop'
  | 'emergency_clear'
  | 'device_registered'
  | 'device_removed'
  /** Refusals of one key past its rate, counted in one entry per window (count, times, hash of the inputs). */
  | 'refusals_aggregated';

/** One line of the append-only audit log. */
export interface AuditEntry {
  /** Position in the log, assigned by the store. */
  seq: number;
  id: string;
  at: number;
  tenantId: string;
  event: AuditEvent;
  /** Who: `key:ID`, `local`, or `device:ID` for outcomes a device reported. */
  actor: string;
  keyId: string | null;
  model: string | null;
  conversation: string | null;
  /** `chat`, `mcp`, `rest`, `admin`, `system`. */
  source: string;
  deviceId: string | null;
  commandId: string | null;
  approvalId: string | null;
  /** Tool, input, reason, state before and after: whatever explains this step. */
  detail: Record<string, unknown>;
  /** sha256 of the previous entry of this tenant (`''` for the first): edits break the chain. */
  prevHash: string;
  hash: string;
}

/** The last entry of a tenant's chain. */
export interface AuditHead {
  tenantId: string;
  seq: number;
  hash: string;
}

/** Thrown by `appendAudit` when the entry's previous hash is already taken: the chain moved on under this writer. */
export class AuditLinkTaken extends Error {
  constructor(readonly tenantId: string) {
    super(`another entry of tenant '${tenantId}' already follows that hash`);
    this.name = 'AuditLinkTaken';
  }
}

/** Filters for the audit log; newest first. */
export interface AuditQuery {
  tenantId: string;
  deviceId?: string;
  event?: AuditEvent;
  conversation?: string;
  commandId?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** Filters for commands; newest first. `tenantId` absent: every tenant (recovery at startup). */
export interface CommandQuery {
  tenantId?: string;
  deviceId?: string;
  states?: readonly CommandState[];
  limit?: number;
}

/** Persistence of everything devices need. */
export interface DeviceStore extends PolicyStateStore {
  putDevice(device: DeviceRecord): Promise<void>;
  getDevice(tenantId: string, id: string): Promise<DeviceRecord | undefined>;
  /** Devices of a tenant, or of every tenant when `tenantId` is absent; by id. */
  listDevices(tenantId?: string): Promise<DeviceRecord[]>;
  /** Removes a device, its twin and history; commands and audit stay. True if it existed. */
  deleteDevice(tenantId: string, id: string): Promise<boolean>;

  /**
   * Inserts twins, or replaces each stored one of an older version, in one transaction: an older
   * version never overwrites a newer (several control planes write the same twins). The same
   * version again moves the stored `reportedAt` forward, and only that. Returns what the store
   * holds for each twin it did not take: a newer version, or the same version in another state.
   */
  putTwins(twins: readonly TwinRecord[]): Promise<TwinRecord[]>;
  /** Twins of a tenant, or of every tenant when `tenantId` is absent. */
  listTwins(tenantId?: string): Promise<TwinRecord[]>;
  /** Appends history; an entry of a device, version, kind and ordinal already stored is left as it is. */
  appendTwinHistory(entries: readonly TwinHistoryEntry[]): Promise<void>;
  /** A device's history, newest first. */
  listTwinHistory(query: { tenantId: string; deviceId: string; since?: number; limit?: number }): Promise<TwinHistoryEntry[]>;

  putCommand(command: CommandRecord): Promise<void>;
  getCommand(tenantId: string, id: string): Promise<CommandRecord | undefined>;
  listCommands(query: CommandQuery): Promise<CommandRecord[]>;

  putApproval(approval: ApprovalRecord): Promise<void>;
  getApproval(tenantId: string, id: string): Promise<ApprovalRecord | undefined>;
  /** Approvals of a tenant, newest first. */
  listApprovals(query: { tenantId: string; status?: ApprovalStatus; limit?: number }): Promise<ApprovalRecord[]>;
  /**
   * Marks a granted approval used, atomically, only if it is granted, unexpired at `now`, for
   * `commandHash`, and was requested by `keyId`. True when this call used it: of two concurrent
   * redeemers exactly one wins.
   */
  redeemApproval(tenantId: string, id: string, commandHash: string, keyId: string | null, now: number): Promise<boolean>;
  /**
   * Writes a decision (a grant, a second grant, a denial) only if the approval is still `from`
   * with the grants it had when read: of two concurrent deciders one wins, and a decision never
   * revives an approval an emergency stop voided meanwhile. True when this call wrote it.
   */
  decideApproval(approval: ApprovalRecord, from: { status: ApprovalStatus; grants: readonly string[] }): Promise<boolean>;
  /** Voids every requested or granted approval of a tenant (an emergency stop); returns their ids. */
  voidApprovals(tenantId: string, now: number): Promise<string[]>;

  putEmergencyStop(stop: EmergencyStop): Promise<void>;
  listEmergencyStops(): Promise<EmergencyStop[]>;

  /**
   * Appends entries in order; returns them with `seq` assigned. The link is unique: an entry whose
   * `prevHash` another entry of its tenant already names is refused with `AuditLinkTaken` (another
   * writer appended first; read the head again and chain to it), so two writers cannot fork a chain.
   */
  appendAudit(entries: ReadonlyArray<Omit<AuditEntry, 'seq'>>): Promise<AuditEntry[]>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Each tenant's last entry: the heads of the chains (checkpoints sign them). */
  auditHeads(): Promise<AuditHead[]>;
  /** A tenant's entries with `seq` after `afterSeq`, oldest first, at most `limit` (verification pages through them). */
  auditChain(tenantId: string, afterSeq: number, limit: number): Promise<AuditEntry[]>;
}
