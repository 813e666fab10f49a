/**
 * Pulls of models into the control plane's cache, as jobs the API and the console can follow:
 * queued, downloading, verifying, then done or failed. A second pull of a reference that is
 * already being pulled joins the running job rather than starting another download. Watchers
 * hear of every state change at once and of progress at most every `progressEveryMs`, so a fast
 * download does not flood the live feed.
 */
import { randomBytes } from 'node:crypto';
import type { DownloadProgress } from './download.js';
import type { EnsureOptions } from './model-cache.js';
import { formatModelRef, parseModelRef, type HfModelRef } from './model-ref.js';

/** Where a pull is: waiting for a free download slot, fetching bytes, checking them, finished. */
export type PullState = 'queued' | 'downloading' | 'verifying' | 'done' | 'failed';

/** One pull, as the API shows it. */
export interface PullJob {
  /** `pull_...`. */
  id: string;
  /** The reference in its canonical form (`hf:owner/repo/file.gguf`). */
  ref: string;
  state: PullState;
  /** Bytes of the file on disk so far, a resumed partial download included. */
  bytes: number;
  /** The file's size, when the hub said; null until then (or when it never says). */
  total: number | null;
  /** Why it failed, in words; null otherwise. */
  error: string | null;
  /** Unix milliseconds. */
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** What a pull needs of the model cache (`ModelCache` implements it). */
export interface PullCache {
  ensure(ref: HfModelRef, options: EnsureOptions): Promise<string>;
}

/** How pulls run and what they report to. */
export interface ModelPullsOptions {
  cache: PullCache;
  /** The size of a finished file (a pull of a cached file reports it at once). */
  sizeOf: (path: string) => Promise<number>;
  now?: () => number;
  /** Downloads at once; further pulls wait, queued. */
  concurrency?: number;
  /** Least time between two progress reports of one job to the watchers. */
  progressEveryMs?: number;
  /** Finished jobs kept for `list` and `get`, newest first. */
  keepFinished?: number;
}

/** A pull request that cannot be accepted; the message says why and what to send instead. */
export class PullRefError extends Error {
  override name = 'PullRefError';
}

const running: ReadonlySet<PullState> = new Set(['queued', 'downloading', 'verifying']);

/** The pulls of one control plane. */
export class ModelPulls {
  private readonly jobs = new Map<string, PullJob>();
  private readonly watchers = new Set<(job: PullJob) => void>();
  private readonly lastReported = new Map<string, number>();
  private readonly waiting: Array<() => void> = [];
  private readonly abort = new AbortController();
  private active = 0;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly progressEveryMs: number;
  private readonly keepFinished: number;

  constructor(private readonly options: ModelPullsOptions) {
    this.now = options.now ?? Date.now;
    this.concurrency = options.concurrency ?? 2;
    this.progressEveryMs = options.progressEveryMs ?? 250;
    this.keepFinished = options.keepFinished ?? 50;
  }

  /**
   * Starts pulling `text` (an `hf:` reference), or joins the pull of it that is running; throws
   * ModelRefError for a reference that does not parse, PullRefError for a local file.
   */
  start(text: string): { job: PullJob; joined: boolean } {
    const ref = parseModelRef(text);
    if (ref.kind !== 'hf') {
      throw new PullRefError(`'${text}' is a local file: there is nothing to download. Deploy it by its path, or pull hf:OWNER/REPO/FILE.gguf.`);
    }
    const name = formatModelRef(ref);
    const current = this.runningJob(name);
    if (current) return { job: { ...current }, joined: true };
    const now = this.now();
    const job: PullJob = {
      id: `pull_${randomBytes(9).toString('base64url')}`,
      ref: name,
      state: 'queued',
      bytes: 0,
      total: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    this.jobs.set(job.id, job);
    this.report(job, true);
    void this.run(job, ref);
    return { job: { ...job }, joined: false };
  }

  /** A job by id; undefined when unknown (or finished long enough ago to be forgotten). */
  get(id: string): PullJob | undefined {
    const job = this.jobs.get(id);
    return job && { ...job };
  }

  /** Every job kept, newest first. */
  list(): PullJob[] {
    return [...this.jobs.values()].reverse().map((job) => ({ ...job }));
  }

  /** Whether a pull of `ref` (canonical form) is queued or running. */
  pulling(ref: string): boolean {
    return this.runningJob(ref) !== undefined;
  }

  private runningJob(ref: string): PullJob | undefined {
    for (const job of this.jobs.values()) if (job.ref === ref && running.has(job.state)) return job;
    return undefined;
  }

  /** Calls `watcher` with each reported change of a job; returns the function that stops it. */
  watch(watcher: (job: PullJob) => void): () => void {
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  /** Stops every running pull (the partial files stay, and the next pull resumes them). */
  close(): void {
    this.abort.abort();
  }

  private async run(job: PullJob, ref: HfModelRef): Promise<void> {
    await this.slot();
    try {
      if (this.abort.signal.aborted) throw new Error('the server is shutting down');
      this.update(job, { state: 'downloading' }, true);
      const path = await this.options.cache.ensure(ref, {
        signal: this.abort.signal,
        onProgress: (progress) => this.progress(job, progress),
      });
      const size = await this.options.sizeOf(path);
      this.update(job, { state: 'done', bytes: size, total: size, finishedAt: this.now() }, true);
    } catch (error) {
      const reason = this.abort.signal.aborted ? 'the server stopped during the download; the partial file is kept and the next pull resumes it' : undefined;
      this.update(job, { state: 'failed', error: reason ?? (error as Error).message, finishedAt: this.now() }, true);
    } finally {
      this.release();
      this.forgetOld();
    }
  }

  private progress(job: PullJob, progress: DownloadProgress): void {
    const total = progress.total ?? null;
    // Every byte is in: what is left is the size and sha256 check, and the GGUF header.
    const state: PullState = total !== null && progress.received >= total ? 'verifying' : 'downloading';
    this.update(job, { bytes: progress.received, total, state }, state !== job.state);
  }

  private update(job: PullJob, change: Partial<PullJob>, stateChanged: boolean): void {
    Object.assign(job, change, { updatedAt: this.now() });
    this.report(job, stateChanged);
  }

  /** Tells the watchers: state changes always, progress when the last report is old enough. */
  private report(job: PullJob, always: boolean): void {
    const now = this.now();
    const last = this.lastReported.get(job.id);
    if (!always && last !== undefined && now - last < this.progressEveryMs) return;
    this.lastReported.set(job.id, now);
    for (const watcher of this.watchers) {
      try {
        watcher({ ...job });
      } catch {
        // A watcher that fails (a closed feed) must not stop the download.
      }
    }
  }

  private async slot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the next queued pull, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }

  private forgetOld(): void {
    const finished = [...this.jobs.values()].filter((job) => !running.has(job.state));
    for (const job of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) {
      this.jobs.delete(job.id);
      this.lastReported.delete(job.id);
    }
  }
}
