/**
 * The audit log: every proposal, approval, denial, execution and outcome, with who (key), which
 * model, which conversation, and the state before and after. Appends are serialized per process
 * so each tenant's hash chain stays linear; the store offers no way to change an entry.
 */
import type { Clock } from '../core/clock.js';
import type { AuditEntry, AuditEvent, AuditQuery, DeviceStore } from '../core/device-store.js';
import { newId } from '../core/ids.js';
import { auditHash } from './audit-chain.js';

/** Who and where, shared by the entries of one conversation. */
export interface AuditContext {
  tenantId: string;
  actor: string;
  keyId: string | null;
  model: string | null;
  conversation: string | null;
  source: string;
}

/** What one entry is about. */
export interface AuditFields {
  deviceId?: string | null;
  commandId?: string | null;
  approvalId?: string | null;
  detail?: Record<string, unknown>;
}

export class AuditLog {
  private readonly heads = new Map<string, string>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: DeviceStore,
    private readonly clock: Pick<Clock, 'now'>,
    /** Called with every entry once stored (the live feed); does nothing by default. */
    private readonly onAppend: (entry: AuditEntry) => void = () => undefined,
  ) {}

  /** Appends one entry, chained to the tenant's previous one; resolves once it is stored. */
  append(context: AuditContext, event: AuditEvent, fields: AuditFields = {}): Promise<AuditEntry> {
    const next = this.tail.then(async () => {
      const prevHash = this.heads.get(context.tenantId) ?? (await this.store.listAudit({ tenantId: context.tenantId, limit: 1 }))[0]?.hash ?? '';
      const base = {
        id: newId('aud_'),
        at: this.clock.now(),
        event,
        ...context,
        deviceId: fields.deviceId ?? null,
        commandId: fields.commandId ?? null,
        approvalId: fields.approvalId ?? null,
        detail: fields.detail ?? {},
        prevHash,
      };
      const [written] = await this.store.appendAudit([{ ...base, hash: auditHash(base) }]);
      this.heads.set(context.tenantId, written!.hash);
      this.onAppend(written!);
      return written!;
    });
    // One failed write must not block the entries after it.
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Entries matching the query, newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]> {
    return this.store.listAudit(query);
  }

  /** Resolves when every append so far has been written. */
  async settle(): Promise<void> {
    await this.tail;
  }
}
