/**
 * The Batch API's service (`/v1/batches`): create a batch over an uploaded file, read and list a
 * tenant's batches, cancel one. The runner (batch-runner.ts) does the work; this only records
 * what was asked and tells the runner.
 */
import type { BatchEndpoint, BatchRecord, BatchStore } from '../core/batch-store.js';
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import { newTimeOrderedId } from '../core/ids.js';
import type { Principal } from '../core/principal.js';
import { notBatchInput, type BatchFiles } from './batch-files.js';
import type { BatchRunner } from './batch-runner.js';

/** What a client asks for when it creates a batch. */
export interface BatchRequest {
  inputFileId: string;
  endpoint: BatchEndpoint;
  completionWindow: '24h';
  metadata: Record<string, string> | null;
}

export class Batches {
  constructor(
    private readonly store: BatchStore,
    private readonly files: BatchFiles,
    private readonly runner: BatchRunner,
    private readonly clock: Clock,
    private readonly maxFileBytes: number,
    /** How long the only window, `24h`, lasts (`batches.completionWindowSeconds`: shorter only in tests). */
    private readonly windowMs = 86_400_000,
  ) {}

  /** Records a batch in `validating` and starts it; the input file must be the tenant's, of purpose `batch`, within the size limit. */
  async create(principal: Principal, request: BatchRequest): Promise<BatchRecord> {
    const file = await this.files.input(principal.tenantId, request.inputFileId);
    if (file.purpose !== 'batch') throw notBatchInput(file.id, file.purpose);
    if (file.bytes > this.maxFileBytes) {
      throw new NimbusError(
        'invalid_value',
        `The input file has ${file.bytes} bytes; a batch's input may have at most ${this.maxFileBytes} (batches.maxFileBytes). Split it into several batches.`,
        { param: 'input_file_id' },
      );
    }
    const now = this.clock.now();
    const batch: BatchRecord = {
      id: newTimeOrderedId('batch_', 24, now),
      tenantId: principal.tenantId,
      principal,
      endpoint: request.endpoint,
      inputFileId: file.id,
      completionWindow: request.completionWindow,
      status: 'validating',
      outputFileId: null,
      errorFileId: null,
      errors: null,
      metadata: request.metadata,
      counts: { total: 0, completed: 0, failed: 0 },
      usage: { inputTokens: 0, cachedTokens: 0, outputTokens: 0 },
      enqueuedTokens: 0,
      owner: null,
      leaseUntil: null,
      createdAt: now,
      inProgressAt: null,
      expiresAt: now + this.windowMs,
      finalizingAt: null,
      completedAt: null,
      failedAt: null,
      expiredAt: null,
      cancellingAt: null,
      cancelledAt: null,
    };
    await this.store.putBatch(batch);
    this.runner.kick();
    return batch;
  }

  /** The tenant's batch, or a 404 that says how to find one. */
  async get(tenantId: string, id: string): Promise<BatchRecord> {
    const batch = await this.store.getBatch(tenantId, id);
    if (!batch) throw new NimbusError('not_found', `No batch with id '${id}'. GET /v1/batches lists your batches.`, { param: 'batch_id' });
    return batch;
  }

  list(tenantId: string, after: string | undefined, limit: number): Promise<BatchRecord[]> {
    return this.store.listBatches(tenantId, { after, limit });
  }

  /**
   * Moves a batch that has not ended to `cancelling`; the process running it stops its lines and
   * writes what was answered, then `cancelled`. A batch that already ended is a 409.
   */
  async cancel(tenantId: string, id: string): Promise<BatchRecord> {
    const batch = await this.get(tenantId, id);
    if (batch.status === 'cancelling' || batch.status === 'cancelled') return batch;
    const now = this.clock.now();
    if (await this.store.updateBatch(id, { status: 'cancelling', cancellingAt: now }, ['validating', 'in_progress'])) {
      this.runner.cancel(id);
      return { ...batch, status: 'cancelling', cancellingAt: now };
    }
    const current = await this.get(tenantId, id);
    if (current.status === 'cancelling' || current.status === 'cancelled') return current;
    throw new NimbusError('conflict', `The batch '${id}' is ${current.status}; only a batch that is validating or in progress can be cancelled.`, {
      param: 'batch_id',
    });
  }
}
