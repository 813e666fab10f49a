/**
 * Vector stores (`/v1/vector_stores`): stores per tenant, the files in them and batches of files,
 * each file ingested off the request (ingest-queue.ts) from `in_progress` to `completed` or
 * `failed` with its reason. Another tenant's store or file is a 404. Deleting a file (from
 * `/v1/files`) takes it out of every store first (`removeFileEverywhere`).
 */
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import { newTimeOrderedId } from '../core/ids.js';
import type { FileRecord, KnowledgeStore } from '../core/knowledge-store.js';
import type { Principal } from '../core/principal.js';
import type {
  AttributeValue,
  ChunkingSettings,
  FileBatchRecord,
  FileCounts,
  ListQuery,
  VectorStoreFileRecord,
  VectorStoreFileStatus,
  VectorStoreRecord,
} from '../core/vector-store-store.js';
import type { ChunkEmbedder } from './chunk-embedder.js';
import { autoChunking } from './chunking.js';
import { IngestQueue } from './ingest-queue.js';
import type { KnowledgeFiles } from './knowledge-files.js';

/** A store's creation, in the API's terms. */
export interface CreateStoreSpec {
  name?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, string> | undefined;
  expiresAfterDays?: number | undefined;
  fileIds?: readonly string[] | undefined;
  chunking?: ChunkingSettings | undefined;
}

/** A file to add, with its attributes and chunking. */
export interface AddFileSpec {
  fileId: string;
  attributes?: Record<string, AttributeValue> | undefined;
  chunking?: ChunkingSettings | undefined;
}

export interface VectorStoresOptions {
  store: KnowledgeStore;
  files: KnowledgeFiles;
  clock: Clock;
  embedder?: ChunkEmbedder | undefined;
  onError: (error: unknown) => void;
}

const expirySweepBatch = 100;

export class VectorStores {
  readonly ingest: IngestQueue;
  /** Bumped when a store's chunks change: the search's embedding cache keys on it. */
  private readonly generations = new Map<string, number>();

  constructor(private readonly options: VectorStoresOptions) {
    this.ingest = new IngestQueue({
      store: options.store,
      files: options.files,
      clock: options.clock,
      embedder: options.embedder,
      onIndexed: (id) => this.changed(id),
      onError: options.onError,
    });
    options.files.onDelete = (file) => this.removeFileEverywhere(file);
  }

  get embedder(): ChunkEmbedder | undefined {
    return this.options.embedder;
  }

  /** How many times a store's chunks changed in this process. */
  generation(id: string): number {
    return this.generations.get(id) ?? 0;
  }

  async create(principal: Principal, spec: CreateStoreSpec): Promise<VectorStoreRecord> {
    const now = this.options.clock.now();
    const record: VectorStoreRecord = {
      id: newTimeOrderedId('vs_', 24, now),
      tenantId: principal.tenantId,
      name: spec.name ?? '',
      description: spec.description ?? null,
      metadata: spec.metadata ?? {},
      createdAt: now,
      lastActiveAt: now,
      expiresAfterDays: spec.expiresAfterDays ?? null,
    };
    const files = await this.checkFiles(principal, spec.fileIds ?? []);
    await this.options.store.putVectorStore(record);
    for (const file of files) await this.enqueue(principal, record.id, { fileId: file.id, chunking: spec.chunking }, null);
    return record;
  }

  async get(tenantId: string, id: string): Promise<VectorStoreRecord> {
    const record = await this.options.store.getVectorStore(tenantId, id);
    if (!record) throw new NimbusError('not_found', `No vector store with id '${id}'. GET /v1/vector_stores lists yours.`, { param: 'vector_store_id' });
    return record;
  }

  list(tenantId: string, query: ListQuery): Promise<VectorStoreRecord[]> {
    return this.options.store.listVectorStores(tenantId, query);
  }

  async update(tenantId: string, id: string, change: Pick<CreateStoreSpec, 'name' | 'metadata' | 'expiresAfterDays'>): Promise<VectorStoreRecord> {
    const current = await this.get(tenantId, id);
    const updated: VectorStoreRecord = {
      ...current,
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.metadata !== undefined ? { metadata: change.metadata } : {}),
      ...(change.expiresAfterDays !== undefined ? { expiresAfterDays: change.expiresAfterDays } : {}),
      lastActiveAt: this.options.clock.now(),
    };
    await this.options.store.putVectorStore(updated);
    return updated;
  }

  /** Asked before a store is deleted; throws to keep it (an app's live version uses it). */
  deleteGuard: (tenantId: string, id: string) => Promise<void> = async () => undefined;

  async delete(tenantId: string, id: string): Promise<void> {
    await this.deleteGuard(tenantId, id);
    if (!(await this.options.store.deleteVectorStore(tenantId, id))) await this.get(tenantId, id);
    this.changed(id);
  }

  /** What the API shows of a store beside its record: file counts, bytes, status. */
  async summary(record: VectorStoreRecord): Promise<{ fileCounts: FileCounts; usageBytes: number; status: 'expired' | 'in_progress' | 'completed' }> {
    const [fileCounts, usageBytes] = await Promise.all([this.options.store.fileCounts(record.id), this.options.store.usageBytes(record.id)]);
    const expired = record.expiresAfterDays !== null && record.lastActiveAt + record.expiresAfterDays * 86_400_000 <= this.options.clock.now();
    return { fileCounts, usageBytes, status: expired ? 'expired' : fileCounts.in_progress > 0 ? 'in_progress' : 'completed' };
  }

  async addFile(principal: Principal, vectorStoreId: string, spec: AddFileSpec): Promise<VectorStoreFileRecord> {
    await this.get(principal.tenantId, vectorStoreId);
    await this.checkFiles(principal, [spec.fileId]);
    return this.enqueue(principal, vectorStoreId, spec, null);
  }

  async getFile(tenantId: string, vectorStoreId: string, fileId: string): Promise<VectorStoreFileRecord> {
    await this.get(tenantId, vectorStoreId);
    const entry = await this.options.store.getStoreFile(tenantId, vectorStoreId, fileId);
    if (!entry) throw new NimbusError('not_found', `No file '${fileId}' in vector store '${vectorStoreId}'.`, { param: 'file_id' });
    return entry;
  }

  async listFiles(
    tenantId: string,
    vectorStoreId: string,
    query: ListQuery & { status?: VectorStoreFileStatus | undefined; batchId?: string | undefined },
  ): Promise<VectorStoreFileRecord[]> {
    await this.get(tenantId, vectorStoreId);
    return this.options.store.listStoreFiles(tenantId, vectorStoreId, query);
  }

  async updateAttributes(tenantId: string, vectorStoreId: string, fileId: string, attributes: Record<string, AttributeValue>): Promise<VectorStoreFileRecord> {
    await this.getFile(tenantId, vectorStoreId, fileId);
    await this.options.store.updateStoreFileAttributes(tenantId, vectorStoreId, fileId, attributes);
    return this.getFile(tenantId, vectorStoreId, fileId);
  }

  async removeFile(tenantId: string, vectorStoreId: string, fileId: string): Promise<void> {
    await this.getFile(tenantId, vectorStoreId, fileId);
    await this.options.store.deleteStoreFile(tenantId, vectorStoreId, fileId);
    this.changed(vectorStoreId);
  }

  /** A file's parsed text as its chunks hold it (without the overlaps' repeats where there are none). */
  async fileContent(
    tenantId: string,
    vectorStoreId: string,
    fileId: string,
  ): Promise<{ entry: VectorStoreFileRecord; file: FileRecord | undefined; texts: string[] }> {
    const entry = await this.getFile(tenantId, vectorStoreId, fileId);
    const file = await this.options.files.get(tenantId, fileId).catch(() => undefined);
    const chunks = await this.options.store.fileChunks(vectorStoreId, fileId);
    return { entry, file, texts: chunks.map((chunk) => chunk.text) };
  }

  async createBatch(principal: Principal, vectorStoreId: string, files: readonly AddFileSpec[]): Promise<FileBatchRecord> {
    await this.get(principal.tenantId, vectorStoreId);
    await this.checkFiles(
      principal,
      files.map((file) => file.fileId),
    );
    const batch: FileBatchRecord = {
      id: newTimeOrderedId('vsfb_', 24, this.options.clock.now()),
      vectorStoreId,
      tenantId: principal.tenantId,
      createdAt: this.options.clock.now(),
    };
    await this.options.store.putFileBatch(batch);
    for (const file of files) await this.enqueue(principal, vectorStoreId, file, batch.id);
    return batch;
  }

  async getBatch(tenantId: string, vectorStoreId: string, batchId: string): Promise<{ batch: FileBatchRecord; fileCounts: FileCounts }> {
    await this.get(tenantId, vectorStoreId);
    const batch = await this.options.store.getFileBatch(tenantId, vectorStoreId, batchId);
    if (!batch) throw new NimbusError('not_found', `No file batch '${batchId}' in vector store '${vectorStoreId}'.`, { param: 'batch_id' });
    return { batch, fileCounts: await this.options.store.fileCounts(vectorStoreId, batchId) };
  }

  async cancelBatch(tenantId: string, vectorStoreId: string, batchId: string): Promise<{ batch: FileBatchRecord; fileCounts: FileCounts }> {
    await this.getBatch(tenantId, vectorStoreId, batchId);
    await this.options.store.cancelFileBatch(vectorStoreId, batchId, this.options.clock.now());
    return this.getBatch(tenantId, vectorStoreId, batchId);
  }

  /** Takes a file out of every store of its tenant (before the file itself goes). */
  async removeFileEverywhere(file: FileRecord): Promise<void> {
    for (const vectorStoreId of await this.options.store.storesOfFile(file.tenantId, file.id)) {
      await this.options.store.deleteStoreFile(file.tenantId, vectorStoreId, file.id);
      this.changed(vectorStoreId);
    }
  }

  /** Deletes stores past their expiry (every tenant's); resolves to how many. */
  async sweepExpired(): Promise<number> {
    let removed = 0;
    for (const record of await this.options.store.expiredVectorStores(this.options.clock.now(), expirySweepBatch)) {
      if (await this.options.store.deleteVectorStore(record.tenantId, record.id)) removed += 1;
      this.changed(record.id);
    }
    return removed;
  }

  /** Marks a store used now (searches and changes keep an expiring store alive). */
  async touch(record: VectorStoreRecord): Promise<void> {
    const now = this.options.clock.now();
    if (record.expiresAfterDays === null || now - record.lastActiveAt < 60_000) return;
    await this.options.store.putVectorStore({ ...record, lastActiveAt: now });
  }

  private changed(vectorStoreId: string): void {
    this.generations.set(vectorStoreId, this.generation(vectorStoreId) + 1);
  }

  /** The caller's files, or a 404 naming the first that is not theirs; 403 when its embeddings may not be billed. */
  private async checkFiles(principal: Principal, fileIds: readonly string[]): Promise<FileRecord[]> {
    if (fileIds.length > 0) this.options.embedder?.authorize(principal);
    const files: FileRecord[] = [];
    for (const id of new Set(fileIds)) files.push(await this.options.files.get(principal.tenantId, id));
    return files;
  }

  private async enqueue(principal: Principal, vectorStoreId: string, spec: AddFileSpec, batchId: string | null): Promise<VectorStoreFileRecord> {
    const now = this.options.clock.now();
    const entry: VectorStoreFileRecord = {
      vectorStoreId,
      fileId: spec.fileId,
      tenantId: principal.tenantId,
      keyId: principal.keyId,
      batchId,
      status: 'in_progress',
      lastError: null,
      attributes: spec.attributes ?? {},
      chunking: spec.chunking ?? autoChunking,
      usageBytes: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.options.store.putStoreFile(entry);
    this.ingest.add(principal.tenantId, vectorStoreId, spec.fileId);
    return entry;
  }
}
