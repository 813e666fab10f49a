/**
 * The batch section of the Store contract: batches (`/v1/batches`) and the results of their
 * lines. A result is saved once per line (the line's index is its key), so a batch resumed after
 * a crash writes each `custom_id` exactly once; the batch's counts and usage grow in the same
 * transaction as its results. Every read is scoped by tenant, except the runner's own.
 */
import type { Principal } from './principal.js';

/** A batch's life, as OpenAI names it (docs/decisions/0011-batches.md). */
export const batchStatuses = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof batchStatuses)[number];

/** The endpoints a batch's lines may call. */
export const batchEndpoints = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses'] as const;
export type BatchEndpoint = (typeof batchEndpoints)[number];

/** One problem found while validating a batch's input file. */
export interface BatchError {
  code: string;
  message: string;
  /** The field at fault, where one is. */
  param: string | null;
  /** The input file's line, counted from 1; null for the file as a whole. */
  line: number | null;
}

/** A batch's token usage so far (its lines' usage summed). */
export interface BatchUsage {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
}

/** A batch's line counts. */
export interface BatchCounts {
  total: number;
  completed: number;
  failed: number;
}

/** When each state was entered (unix ms), null until it was. */
export interface BatchTimes {
  createdAt: number;
  inProgressAt: number | null;
  expiresAt: number;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
}

export interface BatchRecord extends BatchTimes {
  /** `batch_...`, time-ordered. */
  id: string;
  tenantId: string;
  /** Who created it: its lines are admitted and billed as this key (scopes as they were at creation). */
  principal: Principal;
  endpoint: BatchEndpoint;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Why validation failed; null otherwise. */
  errors: BatchError[] | null;
  metadata: Record<string, string> | null;
  counts: BatchCounts;
  usage: BatchUsage;
  /** Tokens its lines may use at most (prompt bounds plus caps), counted against the key's enqueued-token limit while it runs. */
  enqueuedTokens: number;
  /** The process running it (its instance id) and until when that claim holds; null when none. */
  owner: string | null;
  leaseUntil: number | null;
}

/** One line's answer, as it goes into the output file (ok) or the error file. */
export interface BatchResult {
  batchId: string;
  /** The input line's index, from 0. */
  index: number;
  customId: string;
  /** The ledger row's id: one per line, whatever happened. */
  requestId: string;
  ok: boolean;
  /** The whole output line, JSON. */
  line: string;
  usage: BatchUsage;
}

/** What may change on a batch after it was made. */
export type BatchChanges = Partial<
  Pick<BatchRecord, 'status' | 'outputFileId' | 'errorFileId' | 'errors' | 'counts' | 'enqueuedTokens' | 'owner' | 'leaseUntil'> &
    Omit<BatchTimes, 'createdAt' | 'expiresAt'>
>;

/** Persistence of batches and their lines' results. */
export interface BatchStore {
  putBatch(batch: BatchRecord): Promise<void>;
  /** The tenant's batch, or undefined. */
  getBatch(tenantId: string, id: string): Promise<BatchRecord | undefined>;
  /** The tenant's batches newest first, after the id `after`; one more than asked tells the caller there are more. */
  listBatches(tenantId: string, query: { after?: string | undefined; limit: number }): Promise<BatchRecord[]>;
  /**
   * Applies `changes` where the batch is in one of `from` (every status when absent); resolves
   * to whether it did. Status changes go through here, so two processes cannot both move a batch.
   */
  updateBatch(id: string, changes: BatchChanges, from?: readonly BatchStatus[]): Promise<boolean>;
  /**
   * Claims batches that need work (validating, in progress, finalizing, cancelling) for `owner`
   * until `leaseUntil`: those nobody holds, `owner` holds already, or whose claim lapsed before
   * `now`. Oldest first; resolves to the claimed ones.
   */
  claimBatches(owner: string, now: number, leaseUntil: number, limit: number): Promise<BatchRecord[]>;
  /**
   * Saves results of lines that have none yet (a line saved before is left as it was) and adds
   * the saved ones to the batch's counts and usage, in one transaction. Resolves to how many were saved.
   */
  saveResults(batchId: string, results: readonly BatchResult[]): Promise<number>;
  /** Indexes of the lines that have a result. */
  resultIndexes(batchId: string): Promise<number[]>;
  /** Results in line order, of the output file (`ok`) or the error file, after `afterIndex`, at most `limit`. */
  readResults(batchId: string, ok: boolean, afterIndex: number, limit: number): Promise<BatchResult[]>;
  /**
   * The ledger rows of the batch's lines made since `since` (unix ms), id and status: a resumed
   * batch runs a line again under the id of its earlier try when that try was billed in full
   * (`ok`: the ledger keeps the first row, so the line is billed once), and under a fresh one otherwise.
   */
  ledgerAttempts(batchId: string, since: number): Promise<Array<{ id: string; status: string }>>;
  /** Tokens enqueued by the key's (or, with a null key, the tenant's keyless) batches that have not ended. */
  enqueuedTokens(tenantId: string, keyId: string | null): Promise<number>;
}
