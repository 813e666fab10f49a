/**
 * Builds the knowledge services (files; vector stores) over a store and the home folder, with
 * the timer that sweeps expired files. Called once by main.ts.
 */
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { KnowledgeStore } from '../core/knowledge-store.js';
import { FileBlobs } from './file-blobs.js';
import { KnowledgeFiles, type FileLimits } from './knowledge-files.js';

/** What the HTTP layer serves `/v1/files` with. */
export interface KnowledgeServices {
  files: KnowledgeFiles;
}

export interface KnowledgeOptions {
  store: KnowledgeStore;
  /** The server's home: file bytes go under `<home>/files`. */
  home: string;
  limits: FileLimits;
  clock: Clock;
  /** Reports a sweep that failed (it is tried again at the next interval). */
  onError: (error: unknown) => void;
}

/** The running services and their stop. */
export interface RunningKnowledge extends KnowledgeServices {
  stop(): void;
}

const sweepIntervalMs = 60_000;

export function startKnowledge(options: KnowledgeOptions): RunningKnowledge {
  const files = new KnowledgeFiles(options.store, new FileBlobs(join(options.home, 'files')), options.limits, options.clock);
  const sweep = (): void => void files.sweepExpired().catch(options.onError);
  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();
  // The first sweep soon after start, once the server is up (expired files are hidden meanwhile).
  const first = setTimeout(sweep, 1_000);
  first.unref();
  return {
    files,
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
