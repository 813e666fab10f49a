/**
 * Builds the knowledge services (files, vector stores, their ingest and search) over a store and
 * the home folder, resumes ingest left in progress by a stopped process, and sweeps expired files
 * and stores every minute. Called once by main.ts.
 */
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { KnowledgeStore } from '../core/knowledge-store.js';
import type { ChunkEmbedder } from './chunk-embedder.js';
import { FileBlobs } from './file-blobs.js';
import { KnowledgeFiles, type FileLimits } from './knowledge-files.js';
import type { RerankerFor } from './search/rerank.js';
import { StoreSearch } from './search/store-search.js';
import { VectorStores } from './vector-stores.js';

/** What the HTTP layer serves `/v1/files` and `/v1/vector_stores` with. */
export interface KnowledgeServices {
  files: KnowledgeFiles;
  vectorStores: VectorStores;
  search: StoreSearch;
}

export interface KnowledgeOptions {
  store: KnowledgeStore;
  /** The server's home: file bytes go under `<home>/files`. */
  home: string;
  limits: FileLimits;
  clock: Clock;
  /** Embeds chunks and queries where an embedding model is configured. */
  embedder?: ChunkEmbedder | undefined;
  /** Makes the embedder of a reranking model a search names (`ranking_options.rerank`). */
  rerankerFor?: RerankerFor | undefined;
  /** Reports a sweep or an ingest that failed outside any request. */
  onError: (error: unknown) => void;
}

/** The running services and their stop. */
export interface RunningKnowledge extends KnowledgeServices {
  /** Queues again what a stopped process left in progress; resolves to how many. */
  resume(): Promise<number>;
  stop(): Promise<void>;
}

const sweepIntervalMs = 60_000;
/** How long a stopping server waits for the ingest under way. */
const stopGraceMs = 5_000;

export function startKnowledge(options: KnowledgeOptions): RunningKnowledge {
  const files = new KnowledgeFiles(options.store, new FileBlobs(join(options.home, 'files')), options.limits, options.clock);
  const vectorStores = new VectorStores({ store: options.store, files, clock: options.clock, embedder: options.embedder, onError: options.onError });
  const search = new StoreSearch(options.store, vectorStores, options.rerankerFor);
  const sweep = (): void => {
    files.sweepExpired().catch(options.onError);
    vectorStores.sweepExpired().catch(options.onError);
  };
  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();
  // The first sweep soon after start, once the server is up (expired files are hidden meanwhile).
  const first = setTimeout(sweep, 1_000);
  first.unref();
  return {
    files,
    vectorStores,
    search,
    resume: () => vectorStores.ingest.resume(),
    stop: async () => {
      clearTimeout(first);
      clearInterval(timer);
      // What is being ingested gets a few seconds; a file cut off stays in progress and is taken up at the next start.
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([vectorStores.ingest.stop(), new Promise((resolve) => (timeout = setTimeout(resolve, stopGraceMs)))]);
      clearTimeout(timeout);
    },
  };
}
