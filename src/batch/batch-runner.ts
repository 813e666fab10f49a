/**
 * Runs batches: claims those that need work from the store (several processes may share one
 * database; a claim is a lease renewed every tick), validates their input, runs their lines in
 * fair order (fair-queue.ts) a few at a time through the line executor (the accounting path),
 * saves results in groups, and writes the output and error files at the end.
 *
 * Exactly once: a group of results is saved only after the ledger rows of its lines are written
 * (`flushLedger`), and a line's ledger id is fixed (line-ids.ts). A crash before the save runs
 * those lines again under the same ids: the ledger keeps the first row, the store the first
 * result, so each `custom_id` is in the output once and billed once.
 */
import type { BatchRecord, BatchResult, BatchStatus, BatchStore } from '../core/batch-store.js';
import type { Clock } from '../core/clock.js';
import { toNimbusError } from '../core/errors.js';
import { ActiveBatch, type BatchEnding, type ScheduledLine } from './active-batch.js';
import type { BatchFiles } from './batch-files.js';
import { readBatchInput } from './batch-input.js';
import { FairQueue } from './fair-queue.js';
import type { LineExecutor } from './line-executor.js';
import { attemptRequestId, resumeAttempt } from './line-ids.js';
import { answeredResult, unansweredResult } from './output-lines.js';

/** Tries of one line that failed for the server's reasons (batch-lines.ts says which); the last failure is its answer. */
const maxAttempts = 8;

export interface BatchRunnerLimits {
  maxRequests: number;
  enqueuedTokensPerKey: number;
  linesInFlight: number;
}

export interface BatchRunnerOptions {
  store: BatchStore;
  files: BatchFiles;
  executor: LineExecutor;
  clock: Clock;
  /** This process's id for claims: stable across its restarts (the home's instance id), so a restarted server resumes its own batches at once. */
  owner: string;
  limits: BatchRunnerLimits;
  /** Writes the ledger rows queued so far (Store.flush). */
  flushLedger: () => Promise<void>;
  /** Reports a failure outside any request. */
  onError: (error: unknown, batchId?: string) => void;
  /** How often claims are renewed and new batches looked for. */
  tickMs?: number;
  /** How long a claim holds without renewal (another process takes the batch after). */
  leaseMs?: number;
  /** How long answered lines wait to be saved together. */
  commitMs?: number;
}

export class BatchRunner {
  private readonly active = new Map<string, ActiveBatch>();
  private readonly queue = new FairQueue<ScheduledLine>();
  /** Batches being read in (validated or resumed), so a tick does not start them twice. */
  private readonly starting = new Set<string>();
  private results: BatchResult[] = [];
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly tickMs: number;
  private readonly leaseMs: number;
  private readonly commitMs: number;

  constructor(private readonly options: BatchRunnerOptions) {
    this.tickMs = options.tickMs ?? 1_000;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.commitMs = options.commitMs ?? 50;
  }

  /** Claims and resumes what a stopped process left, then keeps looking every tick. */
  async start(): Promise<void> {
    if (this.stopped) return;
    await this.tick();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Looks for work now (a batch was just created or cancelled). */
  kick(): void {
    void this.tick();
  }

  /** Lines running now, over every batch. */
  get linesRunning(): number {
    return this.running;
  }

  /**
   * Stops: no new line starts; lines running get up to `graceMs` to finish and are saved, the
   * rest are cancelled and left for the next start (their batch stays in progress).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    const batches = [...this.active.values()];
    let timeout: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timeout = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(batches.map((batch) => batch.drained())), grace]);
    clearTimeout(timeout);
    await Promise.all(batches.map((batch) => batch.end('stopped')));
    await Promise.all(batches.map((batch) => batch.finishing?.catch(() => undefined) ?? Promise.resolve()));
    await this.commit();
  }

  /** Cancels a batch this process runs (its status is already `cancelling` in the store); others see it at their next tick. */
  cancel(id: string): void {
    const batch = this.active.get(id);
    if (batch) {
      batch.record = { ...batch.record, status: 'cancelling' };
      this.finish(batch, 'cancelled');
    } else this.kick();
  }

  private tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.ticking ??= this.claim().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async claim(): Promise<void> {
    try {
      const now = this.options.clock.now();
      const claimed = await this.options.store.claimBatches(this.options.owner, now, now + this.leaseMs, 1000);
      const seen = new Set<string>();
      for (const record of claimed) {
        seen.add(record.id);
        const batch = this.active.get(record.id);
        if (batch) this.refresh(batch, record, now);
        else if (!this.starting.has(record.id)) void this.begin(record);
      }
      // A batch another process took over (this one's claim lapsed): stop running it here.
      for (const batch of this.active.values()) if (!seen.has(batch.id) && !batch.finishing) void this.drop(batch, 'lost');
    } catch (error) {
      this.options.onError(error);
    }
  }

  /** What the store says now about a batch running here: a cancel from another process, or its window passing. */
  private refresh(batch: ActiveBatch, record: BatchRecord, now: number): void {
    if (batch.finishing) return;
    if (record.status === 'cancelling') {
      batch.record = { ...batch.record, status: 'cancelling' };
      this.finish(batch, 'cancelled');
    } else if (record.status === 'in_progress' && now >= record.expiresAt) this.finish(batch, 'expired');
  }

  /** Takes up a claimed batch in whatever state it was left. */
  private async begin(record: BatchRecord): Promise<void> {
    this.starting.add(record.id);
    try {
      if (record.status === 'validating') await this.validate(record);
      else if (record.status === 'in_progress') await this.resume(record);
      else if (record.status === 'finalizing') await this.finalize(new ActiveBatch(record, []), 'completed');
      else if (record.status === 'cancelling') await this.finalize(new ActiveBatch(record, []), 'cancelled');
    } catch (error) {
      this.options.onError(error, record.id);
    } finally {
      this.starting.delete(record.id);
    }
  }

  private async validate(record: BatchRecord): Promise<void> {
    const { store, executor, limits } = this.options;
    let input;
    try {
      input = await readBatchInput(await this.options.files.openInput(record), record.endpoint, limits);
    } catch (error) {
      const failure = toNimbusError(error);
      input = { ok: false as const, errors: [{ code: failure.code, message: failure.message, param: 'input_file_id', line: null }] };
    }
    const now = this.options.clock.now();
    if (!input.ok) {
      await store.updateBatch(record.id, { status: 'failed', errors: input.errors, failedAt: now, owner: null }, ['validating']);
      return;
    }
    let tokens = 0;
    for (const line of input.lines) tokens += executor.estimateTokens(record.endpoint, line.body);
    const enqueued = await store.enqueuedTokens(record.tenantId, record.principal.keyId);
    if (enqueued + tokens > limits.enqueuedTokensPerKey) {
      const message = `Enqueued token limit reached: this key's batches that have not ended hold up to ${enqueued} tokens, and this one needs up to ${tokens}; the limit is ${limits.enqueuedTokensPerKey} (batches.enqueuedTokensPerKey). Try again once some batches have completed, or lower max_tokens.`;
      const errors = [{ code: 'token_limit_exceeded', message, param: null, line: null }];
      await store.updateBatch(record.id, { status: 'failed', errors, failedAt: now, owner: null }, ['validating']);
      return;
    }
    const counts = { total: input.lines.length, completed: 0, failed: 0 };
    const moved = await store.updateBatch(record.id, { status: 'in_progress', inProgressAt: now, counts, enqueuedTokens: tokens }, ['validating']);
    if (!moved) return;
    const started = { ...record, status: 'in_progress' as const, inProgressAt: now, counts, enqueuedTokens: tokens };
    this.run(
      started,
      input.lines.map((line) => ({ line, attempt: 1, requestId: attemptRequestId(record.id, line.index, 1) })),
    );
  }

  /** A batch left in progress by a stopped process: its lines without results run again (line-ids.ts says under which id). */
  private async resume(record: BatchRecord): Promise<void> {
    const input = await readBatchInput(await this.options.files.openInput(record), record.endpoint, this.options.limits);
    if (!input.ok) throw new Error(`the input file of batch ${record.id} no longer reads as it did when it was validated`);
    const done = new Set(await this.options.store.resultIndexes(record.id));
    const tries = new Map((await this.options.store.ledgerAttempts(record.id, record.createdAt)).map((row) => [row.id, row.status]));
    const lines = input.lines.filter((line) => !done.has(line.index));
    this.run(
      record,
      lines.map((line) => {
        const attempt = resumeAttempt(record.id, line.index, tries);
        return { line, attempt, requestId: attemptRequestId(record.id, line.index, attempt) };
      }),
    );
  }

  private run(record: BatchRecord, lines: ScheduledLine[]): void {
    const batch = new ActiveBatch(record, lines);
    if (this.stopped) return;
    this.active.set(record.id, batch);
    if (record.status === 'cancelling') return this.finish(batch, 'cancelled');
    if (this.options.clock.now() >= record.expiresAt) return this.finish(batch, 'expired');
    if (batch.complete) return this.finish(batch, 'completed');
    this.queue.add(batch);
    this.dispatch();
  }

  /** Starts lines in fair order while fewer than `linesInFlight` run. */
  private dispatch(): void {
    while (!this.stopped && this.running < this.options.limits.linesInFlight) {
      const next = this.queue.next();
      if (!next) return;
      void this.runLine(next.batch as ActiveBatch, next.item);
    }
  }

  private async runLine(batch: ActiveBatch, scheduled: ScheduledLine): Promise<void> {
    const { line, requestId } = scheduled;
    this.running += 1;
    const cancel = batch.started(line.index);
    try {
      const outcome = await this.options.executor.run({ batch: batch.record, line, requestId, cancel });
      // A line cut by a cancel, the window's end or a stop is not an answer: it is not saved (it runs again, or is listed as unfinished).
      if (cancel.aborted) return;
      if (outcome.retryable && scheduled.attempt < maxAttempts) this.retryLater(batch, scheduled);
      else this.keep(answeredResult(batch.id, line.index, line.customId, requestId, outcome));
    } catch (error) {
      this.options.onError(error, batch.id);
    } finally {
      this.running -= 1;
      batch.finished(line.index);
      this.dispatch();
    }
  }

  /** Runs a line again after a backoff (1 s, 2 s, 4 s ... at most 30 s), as its next try. */
  private retryLater(batch: ActiveBatch, scheduled: ScheduledLine): void {
    const attempt = scheduled.attempt + 1;
    const delay = Math.min(30_000, 1_000 * 2 ** (scheduled.attempt - 1));
    const timer = setTimeout(() => {
      if (batch.ending !== undefined || this.stopped) return;
      batch.requeue({ line: scheduled.line, attempt, requestId: attemptRequestId(batch.id, scheduled.line.index, attempt) });
      this.dispatch();
    }, delay);
    timer.unref();
  }

  /** Queues a result to be saved with the next group. */
  private keep(result: BatchResult): void {
    this.results.push(result);
    this.commitTimer ??= setTimeout(() => void this.commit(), this.commitMs);
  }

  /** Writes the ledger, then saves the waiting results; batches whose lines all have results end. */
  private commit(): Promise<void> {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    const results = this.results;
    this.results = [];
    this.committing = this.committing.then(() => this.save(results));
    return this.committing;
  }

  private async save(results: BatchResult[]): Promise<void> {
    if (results.length === 0) return;
    const byBatch = new Map<string, BatchResult[]>();
    for (const result of results) {
      let group = byBatch.get(result.batchId);
      if (!group) byBatch.set(result.batchId, (group = []));
      group.push(result);
    }
    try {
      // The ledger first: a result saved before its ledger row could be lost to a crash, billed never.
      await this.options.flushLedger();
      for (const [batchId, group] of byBatch) {
        await this.options.store.saveResults(batchId, group);
        const batch = this.active.get(batchId);
        if (!batch) continue;
        for (const result of group) batch.unsaved.delete(result.index);
        if (batch.complete && batch.ending === undefined) this.finish(batch, 'completed');
      }
    } catch (error) {
      // Not saved: tried again in a second (a result already saved is kept as it was, so a retry never counts one twice).
      this.options.onError(error);
      if (this.stopped) return;
      this.results.push(...results);
      clearTimeout(this.commitTimer);
      this.commitTimer = setTimeout(() => void this.commit(), 1_000);
    }
  }

  /** Ends a batch once: stops its lines, saves what was answered, writes its files, sets its last status. */
  private finish(batch: ActiveBatch, how: 'completed' | 'cancelled' | 'expired'): void {
    if (batch.finishing) return;
    batch.finishing = (async () => {
      if (how !== 'completed') await batch.end(how);
      await this.commit();
      if (this.stopped) return;
      await this.finalize(batch, how);
    })()
      .catch((error: unknown) => this.options.onError(error, batch.id))
      .finally(() => {
        this.queue.remove(batch);
        this.active.delete(batch.id);
      });
  }

  /** Writes the output and error files and sets the batch's last status. */
  private async finalize(batch: ActiveBatch, how: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    const { store, files, clock } = this.options;
    const record = batch.record;
    if (how === 'completed' && record.status !== 'finalizing') {
      await store.updateBatch(record.id, { status: 'finalizing', finalizingAt: clock.now() }, ['in_progress']);
    }
    if (how === 'expired') {
      // Unfinished requests go into the error file as batch_expired, saved like answers so a crash here loses none.
      const message = 'This request was not run before the batch expired (its completion window passed).';
      const unfinished = [...batch.unsaved.values()].map(({ line, requestId }) =>
        unansweredResult(record.id, line.index, line.customId, requestId, 'batch_expired', message),
      );
      await store.saveResults(record.id, unfinished);
    }
    const outputFileId = await files.write(record, true);
    const errorFileId = await files.write(record, false);
    const now = clock.now();
    const last: Record<typeof how, BatchStatus> = { completed: 'completed', cancelled: 'cancelled', expired: 'expired' };
    const from: BatchStatus[] = how === 'completed' ? ['finalizing'] : how === 'cancelled' ? ['cancelling'] : ['in_progress', 'finalizing'];
    const times = how === 'completed' ? { completedAt: now } : how === 'cancelled' ? { cancelledAt: now } : { expiredAt: now };
    await store.updateBatch(record.id, { status: last[how], outputFileId, errorFileId, ...times, enqueuedTokens: 0, owner: null }, from);
  }

  /** Forgets a batch another process took over; its lines running here are cut and not saved. */
  private async drop(batch: ActiveBatch, ending: BatchEnding): Promise<void> {
    batch.finishing = batch.end(ending);
    await batch.finishing;
    this.queue.remove(batch);
    this.active.delete(batch.id);
  }
}
