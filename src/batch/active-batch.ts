/**
 * A batch this process is running: its lines not yet saved, those waiting and those running, and
 * how it ends. The runner (batch-runner.ts) owns it; the fair queue takes lines from it.
 */
import type { BatchRecord } from '../core/batch-store.js';
import { Cancellation } from '../core/cancellation.js';
import type { BatchLine } from './batch-input.js';
import type { QueuedBatch } from './fair-queue.js';

/** A line as the runner schedules it: the request and the ledger id it runs under. */
export interface ScheduledLine {
  line: BatchLine;
  /** Which try this is (1 first): a retried line runs under a fresh ledger id (line-ids.ts). */
  attempt: number;
  requestId: string;
}

/** Why a batch stops handing out lines before every line ran. */
export type BatchEnding = 'cancelled' | 'expired' | 'stopped' | 'lost';

export class ActiveBatch implements QueuedBatch<ScheduledLine> {
  /** Lines without a saved result, by index: waiting, running, or answered and not yet saved. */
  readonly unsaved = new Map<number, ScheduledLine>();
  /** Lines running now, and how to stop each. */
  readonly running = new Map<number, Cancellation>();
  private readonly waiting: ScheduledLine[];
  private nextWaiting = 0;
  ending: BatchEnding | undefined;
  /** Set once its end (files, last status) is under way, so it runs once. */
  finishing: Promise<void> | undefined;
  /** Resolves when no line runs; made on demand by `drained`. */
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    public record: BatchRecord,
    lines: readonly ScheduledLine[],
  ) {
    this.waiting = [...lines];
    for (const scheduled of lines) this.unsaved.set(scheduled.line.index, scheduled);
  }

  get tenantId(): string {
    return this.record.tenantId;
  }

  get createdAt(): number {
    return this.record.createdAt;
  }

  get id(): string {
    return this.record.id;
  }

  open(): boolean {
    return this.ending === undefined && this.record.status === 'in_progress';
  }

  take(): ScheduledLine | undefined {
    if (this.nextWaiting >= this.waiting.length) return undefined;
    return this.waiting[this.nextWaiting++];
  }

  /** Puts a line back at the end of the waiting ones (a retry). */
  requeue(scheduled: ScheduledLine): void {
    this.waiting.push(scheduled);
  }

  /** Marks a line running; returns its cancellation. */
  started(index: number): Cancellation {
    const cancel = new Cancellation();
    this.running.set(index, cancel);
    return cancel;
  }

  finished(index: number): void {
    this.running.delete(index);
    if (this.running.size === 0 && this.idle) {
      this.idle.resolve();
      this.idle = undefined;
    }
  }

  /** Every line has a saved result. */
  get complete(): boolean {
    return this.unsaved.size === 0 && this.running.size === 0;
  }

  /** Stops handing out lines and cancels those running; resolves once none runs. */
  end(ending: BatchEnding): Promise<void> {
    this.ending ??= ending;
    for (const cancel of this.running.values()) cancel.abort(new Error(`batch ${ending}`));
    return this.drained();
  }

  /** Resolves once no line runs. */
  drained(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }
}
