/**
 * Ingest of files into vector stores, off the request: each queued entry's file is read from
 * disk, parsed (parse-file.ts), chunked (chunking.ts), its terms made (tokenize.ts) and, where an
 * embedding model is configured, embedded on the accounting path; then its chunks are written
 * and the entry completed in one transaction. Whatever fails marks the entry `failed` with the
 * reason, and nothing of it stays indexed. An entry left `in_progress` by a stopped process is
 * queued again at start (`resume`), so none stays in progress for ever.
 */
import type { Clock } from '../core/clock.js';
import type { KnowledgeStore } from '../core/knowledge-store.js';
import type { Principal } from '../core/principal.js';
import type { ChunkInput, VectorStoreFileRecord } from '../core/vector-store-store.js';
import type { ChunkEmbedder } from './chunk-embedder.js';
import { approximateTokens, chunkText, fitChunkingToModel } from './chunking.js';
import type { KnowledgeFiles } from './knowledge-files.js';
import { terms } from './lexical/tokenize.js';
import { FileParseError, parseFile } from './parse-file.js';

/** Entries worked on at once: parsing and reading overlap the database's writes. */
const concurrency = 2;
/** Entries written per transaction: one commit for many small files. */
const batchSize = 16;
const resumeBatch = 1_000;

/** Who pays for an entry's embeddings: the key that added it, with inference scope. */
export function payerOf(entry: Pick<VectorStoreFileRecord, 'tenantId' | 'keyId'>): Principal {
  return { tenantId: entry.tenantId, keyId: entry.keyId, scopes: { inference: true, admin: false, models: '*', devices: [] }, local: entry.keyId === null };
}

export interface IngestOptions {
  store: KnowledgeStore;
  files: KnowledgeFiles;
  clock: Clock;
  embedder?: ChunkEmbedder | undefined;
  /** Called when an entry's chunks changed (completed), so caches of its store are dropped. */
  onIndexed: (vectorStoreId: string) => void;
  onError: (error: unknown) => void;
}

export class IngestQueue {
  private readonly waiting: Array<{ tenantId: string; vectorStoreId: string; fileId: string }> = [];
  private readonly queued = new Set<string>();
  private running = 0;
  private idle: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly options: IngestOptions) {}

  /** Queues an entry (once, however often it is asked). */
  add(tenantId: string, vectorStoreId: string, fileId: string): void {
    const key = `${vectorStoreId}\u0000${fileId}`;
    if (this.stopped || this.queued.has(key)) return;
    this.queued.add(key);
    this.waiting.push({ tenantId, vectorStoreId, fileId });
    this.pump();
  }

  /** Queues every entry left in progress (after a restart). Resolves to how many. */
  async resume(): Promise<number> {
    const entries = await this.options.store.inProgressFiles(resumeBatch);
    for (const entry of entries) this.add(entry.tenantId, entry.vectorStoreId, entry.fileId);
    return entries.length;
  }

  /** Resolves once nothing is queued or running (tests, shutdown). */
  drained(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Takes no more work; what runs finishes. */
  stop(): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    return this.drained();
  }

  private pump(): void {
    while (this.running < concurrency && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, batchSize);
      this.running += 1;
      void this.ingest(batch)
        .catch(this.options.onError)
        .finally(() => {
          for (const item of batch) this.queued.delete(`${item.vectorStoreId}\u0000${item.fileId}`);
          this.running -= 1;
          this.pump();
          if (this.running === 0 && this.waiting.length === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }

  /** Reads, parses, chunks and embeds each entry of a batch, then writes them all in one transaction. */
  private async ingest(batch: ReadonlyArray<{ tenantId: string; vectorStoreId: string; fileId: string }>): Promise<void> {
    const { store, clock } = this.options;
    const outcomes: Parameters<KnowledgeStore['finishStoreFiles']>[0][number][] = [];
    for (const { tenantId, vectorStoreId, fileId } of batch) {
      const entry = await store.getStoreFile(tenantId, vectorStoreId, fileId);
      if (!entry || entry.status !== 'in_progress') continue;
      try {
        outcomes.push({ vectorStoreId, fileId, outcome: { status: 'completed', chunks: await this.chunksOf(entry), at: clock.now() } });
      } catch (error) {
        const failure =
          error instanceof FileParseError ? { code: error.code, message: error.message } : { code: 'server_error', message: (error as Error).message };
        outcomes.push({ vectorStoreId, fileId, outcome: { status: 'failed', error: failure, at: clock.now() } });
      }
    }
    if (outcomes.length === 0) return;
    let written: boolean[];
    try {
      written = await store.finishStoreFiles(outcomes);
    } catch {
      // One entry the database refuses must not hold back the batch: each is written alone, and
      // one that still fails is marked failed with the reason rather than left in progress.
      written = [];
      for (const item of outcomes) {
        written.push(
          await store.finishStoreFile(item.vectorStoreId, item.fileId, item.outcome).catch((error: unknown) =>
            store.finishStoreFile(item.vectorStoreId, item.fileId, {
              status: 'failed',
              error: { code: 'server_error', message: `indexing failed: ${(error as Error).message}` },
              at: clock.now(),
            }),
          ),
        );
      }
    }
    const indexed = new Set(outcomes.filter((item, index) => written[index] && item.outcome.status === 'completed').map((item) => item.vectorStoreId));
    for (const vectorStoreId of indexed) this.options.onIndexed(vectorStoreId);
  }

  private async chunksOf(entry: VectorStoreFileRecord): Promise<ChunkInput[]> {
    const { file, bytes } = await this.options.files.read(entry.tenantId, entry.fileId);
    const text = await parseFile(bytes, file.filename);
    const embedder = this.options.embedder;
    // Sized by the embedding model's tokenizer where it is here, and within its context, so no chunk is refused for its length.
    const counter = embedder?.tokenCounter?.() ?? approximateTokens;
    const chunking = fitChunkingToModel(entry.chunking, embedder?.maxInputTokens?.(), counter !== approximateTokens);
    const pieces = chunkText(text, chunking, counter);
    const vectors =
      embedder && pieces.length > 0
        ? await embedder.embed(
            pieces.map((piece) => piece.text),
            payerOf(entry),
          )
        : undefined;
    return pieces.map((piece, index) => ({ text: piece.text, tokens: piece.tokens, terms: terms(piece.text), embedding: vectors?.[index] ?? null }));
  }
}
