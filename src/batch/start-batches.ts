/**
 * Builds the Batch API's services (runner, service, files) over the store, the Files API and a
 * line executor; `start` runs them, resuming what a stopped process left. Called once by main.ts.
 */
import type { BatchStore } from '../core/batch-store.js';
import type { Clock } from '../core/clock.js';
import type { KnowledgeFiles } from '../knowledge/knowledge-files.js';
import { BatchFiles } from './batch-files.js';
import { BatchRunner, type BatchRunnerLimits } from './batch-runner.js';
import { Batches } from './batches.js';
import type { LineExecutor } from './line-executor.js';

export interface BatchOptions {
  store: BatchStore;
  files: KnowledgeFiles;
  executor: LineExecutor;
  clock: Clock;
  /** This process's stable id (the home's instance id): whose claims are whose. */
  owner: string;
  limits: BatchRunnerLimits & { maxFileBytes: number; completionWindowSeconds?: number };
  flushLedger: () => Promise<void>;
  onError: (error: unknown, batchId?: string) => void;
}

/** The Batch API, built. */
export interface BatchServices {
  batches: Batches;
  runner: BatchRunner;
  /** Starts running batches, resuming what a stopped process left (call once the models are loaded, or their lines fail). */
  start(): Promise<void>;
  /** Lets running lines finish for up to `graceMs`, cuts the rest (they run again at the next start). */
  stop(graceMs: number): Promise<void>;
}

export function buildBatches(options: BatchOptions): BatchServices {
  const files = new BatchFiles(options.files, options.store);
  const runner = new BatchRunner({
    store: options.store,
    files,
    executor: options.executor,
    clock: options.clock,
    owner: options.owner,
    limits: options.limits,
    flushLedger: options.flushLedger,
    onError: options.onError,
  });
  const windowMs = (options.limits.completionWindowSeconds ?? 86_400) * 1000;
  const batches = new Batches(options.store, files, runner, options.clock, options.limits.maxFileBytes, windowMs);
  return { batches, runner, start: () => runner.start(), stop: (graceMs) => runner.stop(graceMs) };
}
