/**
 * The batch section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * batches, and one result row per line keyed by (batch, line), so a line saved twice (computed
 * again after a crash) keeps its first result and is counted once.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { BatchChanges, BatchEndpoint, BatchRecord, BatchResult, BatchStatus, BatchStore } from '../core/batch-store.js';
import type { BatchesTable, BatchResultsTable } from './batch-schema.js';
import type { Database } from './schema.js';

/** Statuses in which a batch still needs a process to work on it. */
const working: readonly BatchStatus[] = ['validating', 'in_progress', 'finalizing', 'cancelling'];

export class KyselyBatchStore implements BatchStore {
  constructor(private readonly db: Kysely<Database>) {}

  async putBatch(batch: BatchRecord): Promise<void> {
    await this.db.insertInto('batches').values(toRow(batch)).execute();
  }

  async getBatch(tenantId: string, id: string): Promise<BatchRecord | undefined> {
    const row = await this.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  async listBatches(tenantId: string, query: { after?: string | undefined; limit: number }): Promise<BatchRecord[]> {
    let select = this.db.selectFrom('batches').selectAll().where('tenant_id', '=', tenantId);
    if (query.after !== undefined) select = select.where('id', '<', query.after);
    const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(fromRow);
  }

  async updateBatch(id: string, changes: BatchChanges, from?: readonly BatchStatus[]): Promise<boolean> {
    const values = changeColumns(changes);
    if (Object.keys(values).length === 0) return true;
    let update = this.db.updateTable('batches').set(values).where('id', '=', id);
    if (from) update = update.where('status', 'in', from);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async claimBatches(owner: string, now: number, leaseUntil: number, limit: number): Promise<BatchRecord[]> {
    const rows = await this.db
      .selectFrom('batches')
      .select('id')
      .where('status', 'in', working)
      .where((where) => where.or([where('owner', 'is', null), where('owner', '=', owner), where('lease_until', '<', now)]))
      .orderBy('created_at')
      .limit(limit)
      .execute();
    const claimed: BatchRecord[] = [];
    // Each claim is one conditional update of its own (no transaction that reads, then writes: SQLite
    // refuses to upgrade a read snapshot another connection wrote after, SQLITE_BUSY_SNAPSHOT).
    for (const { id } of rows) {
      const updated = await this.db
        .updateTable('batches')
        .set({ owner, lease_until: leaseUntil })
        .where('id', '=', id)
        .where('status', 'in', working)
        .where((where) => where.or([where('owner', 'is', null), where('owner', '=', owner), where('lease_until', '<', now)]))
        .returningAll()
        .executeTakeFirst();
      if (updated) claimed.push(fromRow(updated));
    }
    return claimed;
  }

  async saveResults(batchId: string, results: readonly BatchResult[]): Promise<number> {
    const fresh = new Map<number, BatchResult>();
    for (const result of results) if (!fresh.has(result.index)) fresh.set(result.index, result);
    if (fresh.size === 0) return 0;
    const rows: BatchResultsTable[] = [...fresh.values()].map((result) => ({
      batch_id: batchId,
      line_index: result.index,
      custom_id: result.customId,
      request_id: result.requestId,
      ok: result.ok ? 1 : 0,
      line: result.line,
      input_tokens: result.usage.inputTokens,
      cached_tokens: result.usage.cachedTokens,
      output_tokens: result.usage.outputTokens,
    }));
    return this.db.transaction().execute(async (transaction) => {
      // Written first, so the transaction takes the write lock at once (a read first could not be
      // upgraded on SQLite once the ledger thread wrote); `returning` names only the rows inserted.
      const inserted = new Set<number>();
      for (let start = 0; start < rows.length; start += 500) {
        const added = await transaction
          .insertInto('batch_results')
          .values(rows.slice(start, start + 500))
          .onConflict((conflict) => conflict.columns(['batch_id', 'line_index']).doNothing())
          .returning('line_index')
          .execute();
        for (const row of added) inserted.add(row.line_index);
      }
      if (inserted.size === 0) return 0;
      let completed = 0;
      let input = 0;
      let cached = 0;
      let output = 0;
      for (const row of rows) {
        if (!inserted.has(row.line_index)) continue;
        completed += row.ok;
        input += row.input_tokens;
        cached += row.cached_tokens;
        output += row.output_tokens;
      }
      await transaction
        .updateTable('batches')
        .set({
          completed: sql`completed + ${completed}`,
          failed: sql`failed + ${inserted.size - completed}`,
          input_tokens: sql`input_tokens + ${input}`,
          cached_tokens: sql`cached_tokens + ${cached}`,
          output_tokens: sql`output_tokens + ${output}`,
        })
        .where('id', '=', batchId)
        .execute();
      return inserted.size;
    });
  }

  async resultIndexes(batchId: string): Promise<number[]> {
    const rows = await this.db.selectFrom('batch_results').select('line_index').where('batch_id', '=', batchId).orderBy('line_index').execute();
    return rows.map((row) => row.line_index);
  }

  async readResults(batchId: string, ok: boolean, afterIndex: number, limit: number): Promise<BatchResult[]> {
    const rows = await this.db
      .selectFrom('batch_results')
      .selectAll()
      .where('batch_id', '=', batchId)
      .where('ok', '=', ok ? 1 : 0)
      .where('line_index', '>', afterIndex)
      .orderBy('line_index')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      batchId: row.batch_id,
      index: row.line_index,
      customId: row.custom_id,
      requestId: row.request_id,
      ok: row.ok === 1,
      line: row.line,
      usage: { inputTokens: Number(row.input_tokens), cachedTokens: Number(row.cached_tokens), outputTokens: Number(row.output_tokens) },
    }));
  }

  async ledgerAttempts(batchId: string, since: number): Promise<Array<{ id: string; status: string }>> {
    // By time first (request_log_created_at), then the batch: the ledger has no index on batch_id.
    return this.db.selectFrom('request_log').select(['id', 'status']).where('created_at', '>=', since).where('batch_id', '=', batchId).execute();
  }

  async enqueuedTokens(tenantId: string, keyId: string | null): Promise<number> {
    let select = this.db
      .selectFrom('batches')
      .select((select) => select.fn.sum<number | string | null>('enqueued_tokens').as('total'))
      .where('tenant_id', '=', tenantId)
      .where('status', 'in', working);
    select = keyId === null ? select.where('key_id', 'is', null) : select.where('key_id', '=', keyId);
    const row = await select.executeTakeFirst();
    return Number(row?.total ?? 0);
  }
}

const timeColumns = {
  inProgressAt: 'in_progress_at',
  finalizingAt: 'finalizing_at',
  completedAt: 'completed_at',
  failedAt: 'failed_at',
  expiredAt: 'expired_at',
  cancellingAt: 'cancelling_at',
  cancelledAt: 'cancelled_at',
} as const;

function changeColumns(changes: BatchChanges): Partial<BatchesTable> {
  const values: Partial<BatchesTable> = {};
  if (changes.status !== undefined) values.status = changes.status;
  if (changes.outputFileId !== undefined) values.output_file_id = changes.outputFileId;
  if (changes.errorFileId !== undefined) values.error_file_id = changes.errorFileId;
  if (changes.errors !== undefined) values.errors = changes.errors === null ? null : JSON.stringify(changes.errors);
  if (changes.counts !== undefined) {
    values.total = changes.counts.total;
    values.completed = changes.counts.completed;
    values.failed = changes.counts.failed;
  }
  if (changes.enqueuedTokens !== undefined) values.enqueued_tokens = changes.enqueuedTokens;
  if (changes.owner !== undefined) values.owner = changes.owner;
  if (changes.leaseUntil !== undefined) values.lease_until = changes.leaseUntil;
  for (const [field, column] of Object.entries(timeColumns) as Array<[keyof typeof timeColumns, (typeof timeColumns)[keyof typeof timeColumns]]>) {
    const value = changes[field];
    if (value !== undefined) values[column] = value;
  }
  return values;
}

function toRow(batch: BatchRecord): BatchesTable {
  return {
    id: batch.id,
    tenant_id: batch.tenantId,
    key_id: batch.principal.keyId,
    principal: JSON.stringify(batch.principal),
    endpoint: batch.endpoint,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    errors: batch.errors === null ? null : JSON.stringify(batch.errors),
    metadata: batch.metadata === null ? null : JSON.stringify(batch.metadata),
    total: batch.counts.total,
    completed: batch.counts.completed,
    failed: batch.counts.failed,
    input_tokens: batch.usage.inputTokens,
    cached_tokens: batch.usage.cachedTokens,
    output_tokens: batch.usage.outputTokens,
    enqueued_tokens: batch.enqueuedTokens,
    owner: batch.owner,
    lease_until: batch.leaseUntil,
    created_at: batch.createdAt,
    in_progress_at: batch.inProgressAt,
    expires_at: batch.expiresAt,
    finalizing_at: batch.finalizingAt,
    completed_at: batch.completedAt,
    failed_at: batch.failedAt,
    expired_at: batch.expiredAt,
    cancelling_at: batch.cancellingAt,
    cancelled_at: batch.cancelledAt,
  };
}

function numberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

function fromRow(row: Selectable<BatchesTable>): BatchRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    principal: JSON.parse(row.principal),
    endpoint: row.endpoint as BatchEndpoint,
    inputFileId: row.input_file_id,
    completionWindow: row.completion_window,
    status: row.status as BatchStatus,
    outputFileId: row.output_file_id,
    errorFileId: row.error_file_id,
    errors: row.errors === null ? null : JSON.parse(row.errors),
    metadata: row.metadata === null ? null : JSON.parse(row.metadata),
    counts: { total: Number(row.total), completed: Number(row.completed), failed: Number(row.failed) },
    usage: { inputTokens: Number(row.input_tokens), cachedTokens: Number(row.cached_tokens), outputTokens: Number(row.output_tokens) },
    enqueuedTokens: Number(row.enqueued_tokens),
    owner: row.owner,
    leaseUntil: numberOrNull(row.lease_until),
    createdAt: Number(row.created_at),
    inProgressAt: numberOrNull(row.in_progress_at),
    expiresAt: Number(row.expires_at),
    finalizingAt: numberOrNull(row.finalizing_at),
    completedAt: numberOrNull(row.completed_at),
    failedAt: numberOrNull(row.failed_at),
    expiredAt: numberOrNull(row.expired_at),
    cancellingAt: numberOrNull(row.cancelling_at),
    cancelledAt: numberOrNull(row.cancelled_at),
  };
}
