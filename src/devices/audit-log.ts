/**
 * The audit log: every proposal, approval, denial, execution and outcome, with who (key), which
 * model, which conversation, and the state before and after. Appends are serialized per process
 * so each tenant's hash chain stays linear; the store offers no way to change an entry.
 *
 * Refusals (`denial` entries) are written through `refuse`: every one is audited, and past a
 * per-key rate they are folded into one `refusals_aggregated` entry per window
 * (`refusal-windows.ts`), never dropped. Every entry's detail is bounded (`audit-bounds.ts`):
 * a large input is kept by its sha256 and size.
 */
import type { Clock } from '../core/clock.js';
import { AuditLinkTaken, type AuditEntry, type AuditEvent, type AuditQuery, type DeviceStore } from '../core/device-store.js';
import { newId } from '../core/ids.js';
import { boundDetail, boundText } from './audit-bounds.js';
import { auditHash } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';
import { defaultRefusalRate, RefusalWindows, type RefusalAggregate, type RefusalRate } from './refusal-windows.js';

/** Tries at appending one entry while other writers on the database keep taking the head. */
const maxLinkAttempts = 50;

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

/** One entry of a refusal: its event (`denial`, or the `proposal` refused with it) and fields. */
export interface RefusalEntry extends AuditFields {
  event: AuditEvent;
}

export interface AuditLogOptions {
  /** Called with every entry once stored (the live feed); does nothing by default. */
  onAppend?: (entry: AuditEntry) => void;
  /** Refusals per key written one by one per window; past it they are folded. */
  refusals?: RefusalRate;
  /** Told when an entry could not be written (a failed aggregate write, at a window's end). */
  onError?: (error: unknown) => void;
}

export class AuditLog {
  private readonly heads = new Map<string, string>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly onAppend: (entry: AuditEntry) => void;
  private readonly onError: (error: unknown) => void;
  private readonly windows: RefusalWindows;
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweptAt = 0;

  constructor(
    private readonly store: DeviceStore,
    private readonly clock: Pick<Clock, 'now'>,
    options: AuditLogOptions = {},
  ) {
    this.onAppend = options.onAppend ?? (() => undefined);
    this.onError = options.onError ?? (() => undefined);
    this.windows = new RefusalWindows(options.refusals ?? defaultRefusalRate);
  }

  /**
   * Appends one entry, chained to the tenant's previous one; resolves once it is stored. A
   * `denial` goes through `refuse`, and resolves to undefined when it was folded.
   */
  async append(context: AuditContext, event: AuditEvent, fields: AuditFields = {}): Promise<AuditEntry | undefined> {
    if (event === 'denial') return (await this.refuse(context, [{ event, ...fields }])).at(-1);
    return this.write(context, event, fields);
  }

  /**
   * Audits one refusal: its entries (a denial, with the proposal it refused) are written together,
   * or past the key's rate folded together into the window's aggregate. Resolves to the entries
   * written (none when folded).
   */
  async refuse(context: AuditContext, entries: readonly RefusalEntry[]): Promise<AuditEntry[]> {
    const now = this.clock.now();
    const key = `${context.tenantId}\u0000${context.keyId ?? context.actor}`;
    if (now - this.sweptAt > 60_000) {
      this.sweptAt = now;
      this.windows.sweep(now);
    }
    if (this.windows.admit(key, now, (ended) => this.writeAggregate(ended))) {
      const written: AuditEntry[] = [];
      for (const entry of entries) {
        const { event, ...fields } = entry;
        const stored = await this.write(context, event, fields);
        written.push(stored);
      }
      return written;
    }
    const folded = entries.map((entry) => ({
      event: entry.event,
      json: canonicalJson({ ...context, ...entry, at: now }),
      reason: typeof entry.detail?.reason === 'string' ? entry.detail.reason : undefined,
      deviceId: entry.deviceId ?? null,
    }));
    const started = this.windows.fold(key, context, now, folded);
    if (started) {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          const ended = this.windows.take(key, this.clock.now());
          if (ended) this.writeAggregate(ended);
        },
        Math.max(0, started.windowStart + started.windowMs - now),
      );
      timer.unref();
      this.timers.add(timer);
    }
    return [];
  }

  /** Entries matching the query, newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]> {
    return this.store.listAudit(query);
  }

  /** Resolves when every append so far has been written. */
  async settle(): Promise<void> {
    await this.tail;
  }

  /** Writes every refusal aggregate still open (at shutdown: nothing folded is lost), then settles. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const key of this.windows.keys()) {
      const aggregate = this.windows.take(key);
      if (aggregate) this.writeAggregate(aggregate);
    }
    await this.settle();
  }

  private writeAggregate(aggregate: RefusalAggregate): void {
    this.write(aggregate.context, 'refusals_aggregated', {
      detail: {
        count: aggregate.count,
        first_at: aggregate.firstAt,
        last_at: aggregate.lastAt,
        window_start: aggregate.windowStart,
        window_ms: aggregate.windowMs,
        inputs_sha256: aggregate.inputsSha256,
        input_chars: aggregate.inputChars,
        events: aggregate.events,
        reasons: aggregate.reasons,
        devices: aggregate.devices,
        ...(aggregate.otherDevices > 0 ? { other_devices: aggregate.otherDevices } : {}),
      },
    }).catch((error: unknown) => this.onError(error));
  }

  private write(context: AuditContext, event: AuditEvent, fields: AuditFields): Promise<AuditEntry> {
    const next = this.tail.then(async () => {
      const content = {
        event,
        ...context,
        model: boundText(context.model),
        conversation: boundText(context.conversation),
        deviceId: fields.deviceId ?? null,
        commandId: fields.commandId ?? null,
        approvalId: fields.approvalId ?? null,
        detail: boundDetail(fields.detail ?? {}),
      };
      for (let attempt = 1; ; attempt += 1) {
        const prevHash = this.heads.get(context.tenantId) ?? (await this.store.listAudit({ tenantId: context.tenantId, limit: 1 }))[0]?.hash ?? '';
        const base = { id: newId('aud_'), at: this.clock.now(), ...content, prevHash };
        try {
          const [written] = await this.store.appendAudit([{ ...base, hash: auditHash(base) }]);
          this.heads.set(context.tenantId, written!.hash);
          this.onAppend(written!);
          return written!;
        } catch (error) {
          // Another writer on this database chained to that head first: read the head again and follow it.
          if (!(error instanceof AuditLinkTaken) || attempt >= maxLinkAttempts) throw error;
          this.heads.delete(context.tenantId);
        }
      }
    });
    // One failed write must not block the entries after it.
    this.tail = next.catch(() => undefined);
    return next;
  }
}
