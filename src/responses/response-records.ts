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

/** A response running in this process. */
interface Running {
  tenantId: string;
  cancel: Cancellation;
  snapshot(): Record<string, unknown>;
}

/** How long a tenant's bytes in use are taken from memory before the store is asked again. */
const bytesCacheMs = 5_000;
/** A chain longer than this is refused: a loop of ids, or a conversation that should start afresh. */
const maxChain = 10_000;

export class ResponseRecords {
  private readonly running = new Map<string, Running & { ended: Promise<void> }>();
  /** Writes in flight, by response id: settled (never rejected) once the row is committed or the write failed; every read of a stored response here waits for its write. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly bytesInUse = new Map<string, { bytes: number; at: number }>();

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

  /** 413 when the tenant's stored responses already fill its quota (checked before a response runs). */
  async checkQuota(tenantId: string): Promise<void> {
    const now = this.clock.now();
    let known = this.bytesInUse.get(tenantId);
    if (!known || now - known.at > bytesCacheMs) {
      known = { bytes: await this.store.tenantBytes(tenantId, now), at: now };
      this.bytesInUse.set(tenantId, known);
    }
    if (known.bytes >= this.limits.tenantStorageBytes) {
      throw new NimbusError(
        'storage_quota_exceeded',
        `This tenant's stored responses take ${known.bytes} bytes, its quota is ${this.limits.tenantStorageBytes}. Delete responses (DELETE /v1/responses/{id}), send store: false, or ask the operator for a larger responses.tenantStorageBytes.`,
        { param: 'store' },
      );
    }
  }

  /**
   * Saves a finished response with its input items; resolves once it is committed. Reads of it
   * in this process wait for the write from the moment this is called (before any await), so a
   * caller may answer before it resolves where `answerBeforeStored` allows.
   */
  async save(record: Omit<StoredResponse, 'expiresAt' | 'bytes'>): Promise<void> {
    const write = this.store.putResponse({ ...record, expiresAt: record.createdAt + Math.round(this.limits.retentionDays * 86_400_000) });
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

  /** The response as the API shows it: one running here, else the stored one; undefined when it does not exist for the tenant. */
  async get(tenantId: string, id: string): Promise<Record<string, unknown> | undefined> {
    const running = this.running.get(id);
    if (running && running.tenantId === tenantId) return running.snapshot();
    await this.writing.get(id);
    return (await this.store.getResponse(tenantId, id, this.clock.now()))?.body;
  }

  isRunning(tenantId: string, id: string): boolean {
    return this.running.get(id)?.tenantId === tenantId;
  }

  /** A stored response's input items, a page at a time. */
  async inputItems(tenantId: string, id: string, query: Parameters<ResponseStore['listInputItems']>[2]): Promise<Array<Record<string, unknown>> | undefined> {
    await this.writing.get(id);
    return this.store.listInputItems(tenantId, id, query, this.clock.now());
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    await this.writing.get(id);
    const deleted = await this.store.deleteResponse(tenantId, id);
    if (deleted) this.bytesInUse.delete(tenantId);
    return deleted;
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
      await this.writing.get(id);
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
    if (removed > 0) this.bytesInUse.clear();
    return removed;
  }
}

function previousError(message: string): NimbusError {
  return new NimbusError('invalid_value', message, { param: 'previous_response_id' });
}
