/**
 * The Store contract over Kysely, shared by every SQL dialect. Request-log rows are queued and
 * written in batches (one multi-row insert per flush, or a dialect's own batch writer), so the
 * hot path never waits on disk.
 */
import { Migrator, sql, type CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { RequestLogEntry, RequestLogQuery, RequestLogSearch, Store } from '../core/store.js';
import { KyselyAlertStore } from './kysely-alert-store.js';
import { KyselyAppStore } from './kysely-app-store.js';
import { KyselyBatchStore } from './kysely-batch-store.js';
import { KyselyDeviceStore } from './kysely-device-store.js';
import { KyselyKnowledgeStore } from './kysely-knowledge-store.js';
import { KyselyResponseStore, type ResponseRowWriter } from './kysely-response-store.js';
import type { LexicalIndex } from './lexical-index.js';
import { KyselyPoolStore } from './kysely-pool-store.js';
import { KyselyTenancyStore } from './kysely-tenancy-store.js';
import { migrationProvider } from './migrations.js';
import { compileRequestById, compileRequestSearch } from './request-log-search.js';
import type { Database, RequestLogTable } from './schema.js';

/** Rows that make a batch be written at once, before its interval is up. */
const batchSize = 200;
/** Rows one prune statement deletes: short enough that the writes it holds up wait little. */
const pruneChunk = 5_000;

/** Ledger columns in a fixed order, for dialects that write rows with one prepared statement. */
export const requestLogColumns = [
  'id',
  'created_at',
  'kind',
  'model',
  'http_status',
  'status',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'ttft_ms',
  'duration_ms',
  'finish_reason',
  'stream',
  'error_code',
  'served_by',
  'route',
  'usage_estimated',
  'tenant_id',
  'key_id',
  'deployment',
  'worker',
  'device_class',
  'compute_seconds',
  'cost_nano_usd',
  'requested_model',
  'parent_id',
  'app_id',
  'app_version',
  'batch_id',
] as const satisfies ReadonlyArray<keyof Omit<RequestLogTable, 'seq'>>;

/**
 * Writes batches of ledger rows (ids already present are skipped) and keeps their hourly sums
 * (`usage_rollups`) in the same transaction; made after migrations ran. A writer with a connection
 * of its own off the request thread (SQLite's ledger thread) also runs the ledger's reads and
 * prunes there, so they never stall serving.
 */
export interface RequestLogWriter {
  /** Rows as `encodeRequestLogRow` made them. Done (or failed) once they are queryable. */
  write(rows: readonly string[]): void | Promise<void>;
  /** Runs a read (compiled SQL and its parameters) off the request thread. */
  query?(sql: string, parameters: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Runs a delete off the request thread; resolves to the rows it removed. */
  prune?(sql: string, parameters: readonly unknown[]): Promise<number>;
  /** Runs writes (SQL and positional parameters) in one transaction off the request thread; resolves once committed. */
  transact?(statements: ReadonlyArray<readonly [sql: string, parameters: readonly unknown[]]>): Promise<void>;
  /** Sends transactions `transact` holds back to group them, now: someone waits on one. */
  flushTransactions?(): void;
  close?(): Promise<void>;
}

/**
 * A ledger row as the JSON array of its values in `requestLogColumns` order. Made when the
 * request is recorded, so what waits for the flush is one flat string, not an object the
 * garbage collector copies and promotes, and the batch crosses to the ledger thread as one
 * string (ledger-thread.ts). The order is checked against `requestLogColumns` by a test.
 */
export function encodeRequestLogRow(entry: RequestLogEntry): string {
  return JSON.stringify([
    entry.id,
    entry.createdAt,
    entry.kind,
    entry.model,
    entry.httpStatus,
    entry.status,
    entry.promptTokens,
    entry.completionTokens,
    entry.cachedTokens,
    entry.ttftMs,
    entry.durationMs,
    entry.finishReason,
    entry.stream ? 1 : 0,
    entry.errorCode,
    entry.servedBy,
    entry.route,
    entry.usageEstimated ? 1 : 0,
    entry.tenantId,
    entry.keyId,
    entry.deployment,
    entry.worker,
    entry.deviceClass,
    entry.computeSeconds,
    entry.costNanoUsd,
    entry.requestedModel,
    entry.parentId,
    entry.appId,
    entry.appVersion,
    entry.batchId,
  ]);
}

/** Encoded rows as one JSON array, the form every batch writer takes them apart from. */
export function encodeRequestLogBatch(rows: readonly string[]): string {
  return `[${rows.join(',')}]`;
}

export interface KyselyStoreOptions {
  /** Longest a recorded row waits before its batch is written. */
  flushIntervalMs?: number;
  /**
   * Makes the ledger's batch writer (called once, after migrations): each dialect has a faster
   * one than a Kysely multi-row insert, whose query building cost the request thread ~20 µs a
   * row (bench/ledger.ts). SQLite: one prepared statement per row on its own thread;
   * PostgreSQL: the batch as one JSON parameter.
   */
  requestLogWriter: () => RequestLogWriter | Promise<RequestLogWriter>;
  /** The dialect's index of vector stores' chunks (lexical-index.ts). */
  lexicalIndex: LexicalIndex;
  /** The devices section, where a dialect has its own for the hot path (SQLite); the portable one by default. */
  deviceStore?: (db: Kysely<Database>) => KyselyDeviceStore;
  /** How a stored response's rows are written, where a dialect has a faster way than a Kysely transaction; `ledger` is the batch writer above. */
  responseWriter?: (db: Kysely<Database>, ledger: () => Promise<RequestLogWriter>) => ResponseRowWriter;
}

export class KyselyStore implements Store {
  /** Rows waiting for their batch, encoded (`encodeRequestLogRow`). */
  private queue: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly flushIntervalMs: number;
  private writer: Promise<RequestLogWriter> | undefined;
  readonly devices: KyselyDeviceStore;
  readonly tenancy: KyselyTenancyStore;
  readonly pool: KyselyPoolStore;
  readonly knowledge: KyselyKnowledgeStore;
  readonly responses: KyselyResponseStore;
  readonly batches: KyselyBatchStore;
  readonly apps: KyselyAppStore;
  readonly alerts: KyselyAlertStore;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: KyselyStoreOptions,
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.devices = options.deviceStore?.(db) ?? new KyselyDeviceStore(db);
    // Usage reads (and the responses quota's sum) go where the writer runs them (off the request thread where it can).
    const offThread = async (compiled: CompiledQuery): Promise<Array<Record<string, unknown>>> => {
      const writer = await this.ledgerWriter();
      return writer.query ? writer.query(compiled.sql, compiled.parameters) : ((await db.executeQuery(compiled)).rows as Array<Record<string, unknown>>);
    };
    this.tenancy = new KyselyTenancyStore(db, offThread);
    this.pool = new KyselyPoolStore(db);
    this.knowledge = new KyselyKnowledgeStore(db, options.lexicalIndex);
    this.responses = new KyselyResponseStore(
      db,
      options.responseWriter?.(db, () => this.ledgerWriter()),
      offThread,
    );
    this.batches = new KyselyBatchStore(db);
    this.apps = new KyselyAppStore(db);
    this.alerts = new KyselyAlertStore(db);
  }

  /**
   * Deletes raw ledger rows made before `before`, a chunk at a time (off the request thread where
   * the writer can), and keeps their hourly sums: usage over that range is then answered by whole
   * hours. Resolves to the rows removed.
   */
  async pruneLedger(before: number): Promise<number> {
    this.tenancy.retainedSince = Math.max(this.tenancy.retainedSince, before);
    const writer = await this.ledgerWriter();
    const chunk = sql`delete from request_log where seq in (select seq from request_log where created_at < ${before} limit ${pruneChunk})`.compile(this.db);
    let removed = 0;
    for (;;) {
      const changes = writer.prune ? await writer.prune(chunk.sql, chunk.parameters) : Number((await this.db.executeQuery(chunk)).numAffectedRows ?? 0);
      removed += changes;
      if (changes < pruneChunk) return removed;
    }
  }

  /** The batch writer, made on first use (after migrations). */
  private ledgerWriter(): Promise<RequestLogWriter> {
    this.writer ??= Promise.resolve().then(this.options.requestLogWriter);
    return this.writer;
  }

  /** Applies pending migrations; throws with the failing migration's name. `schema`: where PostgreSQL keeps Kysely's own tables. */
  async migrate(schema?: string): Promise<void> {
    const { error, results } = await new Migrator({
      db: this.db,
      provider: migrationProvider,
      ...(schema ? { migrationTableSchema: schema } : {}),
    }).migrateToLatest();
    if (error) {
      const failed = results?.find((result) => result.status === 'Error');
      const which = failed ? `Database migration ${failed.migrationName}` : 'Database migrations';
      throw new Error(`${which} failed: ${(error as Error).message}`);
    }
  }

  recordRequest(entry: RequestLogEntry): void {
    if (this.closed) return;
    if (this.queue.push(encodeRequestLogRow(entry)) >= batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.queue;
    this.queue = [];
    this.flushing = this.flushing.then(() => this.write(rows));
    return this.flushing;
  }

  async listRequests(query: RequestLogQuery = {}): Promise<RequestLogEntry[]> {
    let select = this.db.selectFrom('request_log').selectAll();
    if (query.model) select = select.where('model', '=', query.model);
    if (query.tenantId !== undefined) select = select.where('tenant_id', '=', query.tenantId);
    if (query.keyId !== undefined) select = select.where('key_id', '=', query.keyId);
    if (query.since !== undefined) select = select.where('created_at', '>=', query.since);
    if (query.until !== undefined) select = select.where('created_at', '<', query.until);
    const rows = await select
      .orderBy('seq', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(fromRow);
  }

  async searchRequests(search: RequestLogSearch): Promise<RequestLogEntry[]> {
    return (await this.readLedger(compileRequestSearch(this.db, search))).map(fromRow);
  }

  async getRequest(id: string): Promise<RequestLogEntry | undefined> {
    const [row] = await this.readLedger(compileRequestById(this.db, id));
    return row ? fromRow(row) : undefined;
  }

  /** Runs a ledger read where the writer runs them (off the request thread where it can). */
  private async readLedger(compiled: CompiledQuery): Promise<Array<Selectable<RequestLogTable>>> {
    const writer = await this.ledgerWriter();
    const rows = writer.query ? await writer.query(compiled.sql, compiled.parameters) : (await this.db.executeQuery(compiled)).rows;
    return rows as Array<Selectable<RequestLogTable>>;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await (await this.writer?.catch(() => undefined))?.close?.();
    await this.db.destroy();
  }

  private async write(rows: string[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await (await this.ledgerWriter()).write(rows);
    } catch (error) {
      // A failed log write must never take the server down; it is reported, not retried forever.
      console.error(`nimbus: request-log batch of ${rows.length} rows not (wholly) written: ${(error as Error).message}`);
    }
  }
}

function fromRow(row: Selectable<RequestLogTable>): RequestLogEntry {
  return {
    id: row.id,
    createdAt: Number(row.created_at),
    kind: row.kind,
    model: row.model,
    httpStatus: row.http_status,
    status: row.status as RequestLogEntry['status'],
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    cachedTokens: row.cached_tokens,
    ttftMs: row.ttft_ms,
    durationMs: row.duration_ms,
    finishReason: row.finish_reason,
    stream: Boolean(row.stream),
    errorCode: row.error_code,
    servedBy: row.served_by,
    route: row.route,
    usageEstimated: Boolean(row.usage_estimated),
    tenantId: row.tenant_id,
    keyId: row.key_id,
    deployment: row.deployment,
    worker: row.worker,
    deviceClass: row.device_class,
    computeSeconds: Number(row.compute_seconds),
    costNanoUsd: Number(row.cost_nano_usd),
    requestedModel: row.requested_model,
    parentId: row.parent_id,
    appId: row.app_id,
    appVersion: row.app_version,
    batchId: row.batch_id,
  };
}
