/**
 * Stored responses as the API needs them: saved once each finishes (with its retention and size),
 * read back for `previous_response_id` (the whole chain, oldest first), counted against the
 * tenant's quota, swept when past the retention. Responses running in this process are known here
 * too, so retrieve sees one in progress and cancel can stop it; and a response whose write is
 * still in flight is waited for by every read of it here, so an answer may go out before its
 * write commits where this process is the store's only reader (decision 0020).
 */
import type { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import type { ResponseStore, StoredResponse } from '../core/response-store.js';
import type { Item } from './response-items.js';

/** The operator's settings (config `responses`). */
export interface ResponseLimits {
  retentionDays: number;
  tenantStorageBytes: number;
}

/** A tenant's bytes in use as this process knows them. */
interface TenantBytes {
  bytes: number;
  /** When the store last summed them (clock ms); -Infinity until the first sum is in. */
  summedAt: number;
  /** The sum in flight, if any. */
  summing?: Promise<void> | undefined;
}

/** A response running in this process. */
interface Running {
  tenantId: string;
  cancel: Cancellation;
  snapshot(): Record<string, unknown>;
}

/**
 * How often a tenant's bytes in use are summed by the store again while it keeps sending stored
 * responses. In between, this process's own writes and deletes keep the figure current; the sum
 * adds what it cannot see (other control planes' writes, responses past their retention).
 */
const resumMs = 30_000;
/** A chain longer than this is refused: a loop of ids, or a conversation that should start afresh. */
const maxChain = 10_000;

export class ResponseRecords {
  private readonly running = new Map<string, Running & { ended: Promise<void> }>();
  /** Writes in flight, by response id: settled (never rejected) once the row is committed or the write failed; every read of a stored response here waits for its write. */
  private readonly writing = new Map<string, Promise<void>>();
  /**
   * Each tenant's bytes in use, as a running figure: summed by the store on the tenant's first
   * stored response here (waited for, once), then kept by this process's writes and deletes, and
   * summed again in the background every `resumMs` (decision 0021).
   */
  private readonly bytesInUse = new Map<string, TenantBytes>();

  constructor(
    private readonly store: ResponseStore,
    private readonly limits: ResponseLimits,
    private readonly clock: Clock,
    /**
     * Whether a response's answer may go out before its write commits: only where every read of
     * the store comes through this process (SQLite, one control plane per database). With
     * several control planes (PostgreSQL) the next request may reach another one, which must find
     * the response, so the write comes first there.
     */
    readonly answerBeforeStored = false,
  ) {}

  /** Registers a response running here until the returned function is called. */
  track(id: string, running: Running): () => void {
    let end = (): void => undefined;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.running.set(id, { ...running, ended });
    return () => {
      if (this.running.get(id)?.ended === ended) this.running.delete(id);
      end();
    };
  }

  /** Stops a response running here with `reason`; resolves to the response as it ended (undefined when none of this tenant's runs under that id). */
  async cancel(tenantId: string, id: string, reason: unknown): Promise<Record<string, unknown> | undefined> {
    const running = this.running.get(id);
    if (!running || running.tenantId !== tenantId) return undefined;
    running.cancel.abort(reason);
    await running.ended;
    return running.snapshot();
  }

  /**
   * 413 when the tenant's stored responses already fill its quota (checked before a response
   * runs). Only a tenant's first check in this process waits for the store; later ones read the
   * running figure, and start a new sum in the background when the last is `resumMs` old.
   */
  async checkQuota(tenantId: string): Promise<void> {
    let known = this.bytesInUse.get(tenantId);
    if (!known) {
      known = { bytes: 0, summedAt: Number.NEGATIVE_INFINITY };
      this.bytesInUse.set(tenantId, known);
      await this.sum(tenantId, known);
    } else if (known.summing) {
      if (known.summedAt === Number.NEGATIVE_INFINITY) await known.summing;
    } else if (this.clock.now() - known.summedAt > resumMs) void this.sum(tenantId, known);
    if (known.bytes >= this.limits.tenantStorageBytes) {
      throw new NimbusError(
        'storage_quota_exceeded',
        `This tenant's stored responses take ${known.bytes} bytes, its quota is ${this.limits.tenantStorageBytes}. Delete responses (DELETE /v1/responses/{id}), send store: false, or ask the operator for a larger responses.tenantStorageBytes.`,
        { param: 'store' },
      );
    }
  }

  /** Sums the tenant's bytes in the store into `known` (one sum at a time; a failed sum keeps the running figure and is tried again at the next check). */
  private sum(tenantId: string, known: TenantBytes): Promise<void> {
    const now = this.clock.now();
    known.summing ??= this.store.tenantBytes(tenantId, now).then(
      (bytes) => {
        known.bytes = bytes;
        known.summedAt = now;
        known.summing = undefined;
      },
      (error: unknown) => {
        known.summing = undefined;
        if (known.summedAt === Number.NEGATIVE_INFINITY) {
          this.bytesInUse.delete(tenantId);
          throw error;
        }
      },
    );
    return known.summing;
  }

  /**
   * Saves a finished response with its input items; resolves once it is committed. Reads of it
   * in this process wait for the write from the moment this is called (before any await), so a
   * caller may answer before it resolves where `answerBeforeStored` allows. The store may hold
   * the write back to commit it with others (SQLite, decision 0021); `waited` says the caller
   * waits for it, and reads here that wait for it send it at once (`pending`).
   */
  async save(record: Omit<StoredResponse, 'expiresAt' | 'bytes'>, options: { waited?: boolean } = {}): Promise<void> {
    const write = this.store.putResponse({ ...record, expiresAt: record.createdAt + Math.round(this.limits.retentionDays * 86_400_000) });
    // A caller that waits for the commit (a batch line) does not wait for others to join it.
    if (options.waited) setImmediate(() => this.store.flushWrites?.());
    const settled = write.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(record.id, settled);
    void settled.then(() => {
      if (this.writing.get(record.id) === settled) this.writing.delete(record.id);
    });
    const bytes = await write;
    const known = this.bytesInUse.get(record.tenantId);
    if (known) known.bytes += bytes;
  }

  /** Resolves once a write of `id` started here is committed (at once when there is none), asking the store not to hold it back. */
  private async pending(id: string): Promise<void> {
    const writing = this.writing.get(id);
    if (!writing) return;
    this.store.flushWrites?.();
    await writing;
  }

  /** The response as the API shows it: one running here, else the stored one; undefined when it does not exist for the tenant. */
  async get(tenantId: string, id: string): Promise<Record<string, unknown> | undefined> {
    const running = this.running.get(id);
    if (running && running.tenantId === tenantId) return running.snapshot();
    await this.pending(id);
    return (await this.store.getResponse(tenantId, id, this.clock.now()))?.body;
  }

  isRunning(tenantId: string, id: string): boolean {
    return this.running.get(id)?.tenantId === tenantId;
  }

  /** A stored response's input items, a page at a time. */
  async inputItems(tenantId: string, id: string, query: Parameters<ResponseStore['listInputItems']>[2]): Promise<Array<Record<string, unknown>> | undefined> {
    await this.pending(id);
    return this.store.listInputItems(tenantId, id, query, this.clock.now());
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    await this.pending(id);
    const freed = await this.store.deleteResponse(tenantId, id);
    const known = this.bytesInUse.get(tenantId);
    if (freed !== undefined && known) known.bytes = Math.max(0, known.bytes - freed);
    return freed !== undefined;
  }

  /**
   * The conversation up to and including `previousId`: each response's input items then its
   * output, oldest first (instructions are not carried over). A response of the chain that is
   * gone (deleted, expired, another tenant's, still running) is a 400 naming `previous_response_id`.
   */
  async conversation(tenantId: string, previousId: string): Promise<Item[]> {
    const now = this.clock.now();
    const chain: StoredResponse[] = [];
    for (let id: string | null = previousId; id !== null;) {
      if (chain.length >= maxChain) throw previousError(`The conversation behind '${previousId}' is longer than ${maxChain} responses; start a new one.`);
      await this.pending(id);
      const stored: StoredResponse | undefined = await this.store.getResponse(tenantId, id, now);
      if (!stored) {
        const what =
          id === previousId
            ? `Previous response with id '${id}' not found.`
            : `Response '${id}', an earlier turn of the conversation behind '${previousId}', was deleted or expired.`;
        throw previousError(`${what} Stored responses are kept ${this.limits.retentionDays} days; a response sent with store: false cannot be continued.`);
      }
      chain.push(stored);
      id = stored.previousResponseId;
    }
    const items: Item[] = [];
    for (const stored of chain.reverse()) {
      items.push(...(stored.inputItems as Item[]));
      items.push(...((stored.body.output as Item[] | undefined) ?? []));
    }
    return items;
  }

  /** Deletes responses past their retention, a batch at a time; resolves to how many went. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.store.deleteExpired(this.clock.now(), 500);
      removed += batch;
      if (batch < 500) break;
    }
    // The store's next sum no longer counts them: each tenant's is taken again at its next check (in the background).
    if (removed > 0) for (const known of this.bytesInUse.values()) known.summedAt = Math.min(known.summedAt, 0);
    return removed;
  }
}

function previousError(message: string): NimbusError {
  return new NimbusError('invalid_value', message, { param: 'previous_response_id' });
}
