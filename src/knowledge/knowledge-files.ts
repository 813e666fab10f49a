/**
 * Files (`/v1/files`): uploads are streamed to disk by hash (file-blobs.ts), their metadata kept
 * in the store per tenant, within a size limit per file and a storage quota per tenant. Expired
 * files are swept; bytes go once no file names them. Deleting a file also takes it out of every
 * vector store (the `onDelete` hook, set by the vector stores).
 */
import type { Readable } from 'node:stream';
import type { Clock } from '../core/clock.js';
import { NimbusError } from '../core/errors.js';
import { newTimeOrderedId } from '../core/ids.js';
import type { FileListQuery, FilePurpose, FileRecord, KnowledgeStore } from '../core/knowledge-store.js';
import type { FileBlobs, StoredBlob } from './file-blobs.js';

/** Limits on files, from the configuration's `knowledge` section. */
export interface FileLimits {
  /** Largest file accepted, in bytes (413 past it). */
  maxFileBytes: number;
  /** Bytes all of a tenant's files may take together (413 past it). */
  tenantStorageBytes: number;
}

/** What an upload says about its file besides the bytes. */
export interface UploadSpec {
  tenantId: string;
  filename: string;
  purpose: FilePurpose;
  /** Seconds after creation when the file expires (`expires_after` anchored at `created_at`). */
  expiresAfterSeconds?: number | undefined;
}

const sweepBatch = 500;
/** How long a tenant's bytes in use are taken from memory before the store is asked again (other processes' uploads show within it). */
const usageTtlMs = 5_000;

export class KnowledgeFiles {
  /** Called before a file's record goes, so everything built from it goes too. */
  onDelete: (file: FileRecord) => Promise<void> = async () => undefined;
  /** Bytes in use per tenant as last read, kept up to date with this process's uploads and deletes. */
  private readonly usage = new Map<string, { bytes: number; at: number }>();

  constructor(
    private readonly store: KnowledgeStore,
    private readonly blobs: FileBlobs,
    readonly limits: FileLimits,
    private readonly clock: Clock,
  ) {}

  /** Refuses at once an upload whose declared size cannot fit (its body is then drained, not stored). */
  async checkRoom(tenantId: string, declaredBytes: number): Promise<void> {
    if (declaredBytes > this.limits.maxFileBytes + 64 * 1024) throw fileTooLarge(this.limits.maxFileBytes);
    const used = await this.used(tenantId);
    if (used >= this.limits.tenantStorageBytes) throw overQuota(used, this.limits.tenantStorageBytes);
  }

  /** Streams the bytes of an upload to disk; `tooLarge` set by the caller's parser truncates them. */
  receive(source: Readable): Promise<StoredBlob> {
    return this.blobs.write(source);
  }

  /** Records an upload whose bytes were received; refusals after the bytes came take them away again. */
  async register(spec: UploadSpec, blob: StoredBlob): Promise<FileRecord> {
    try {
      if (blob.bytes > this.limits.maxFileBytes) throw fileTooLarge(this.limits.maxFileBytes);
      const used = await this.used(spec.tenantId);
      if (used + blob.bytes > this.limits.tenantStorageBytes) throw overQuota(used, this.limits.tenantStorageBytes, blob.bytes);
      const createdAt = this.clock.now();
      const file: FileRecord = {
        id: newTimeOrderedId('file-', 24, createdAt),
        tenantId: spec.tenantId,
        filename: spec.filename,
        purpose: spec.purpose,
        bytes: blob.bytes,
        sha256: blob.sha256,
        createdAt,
        expiresAt: spec.expiresAfterSeconds === undefined ? null : createdAt + spec.expiresAfterSeconds * 1000,
      };
      await this.store.putFile(file);
      this.adjustUsage(spec.tenantId, blob.bytes);
      return file;
    } catch (error) {
      await this.release(blob.sha256);
      throw error;
    }
  }

  /** Forgets bytes that were received for nothing (a refused or broken upload). */
  async discard(blob: StoredBlob): Promise<void> {
    await this.release(blob.sha256);
  }

  /** The tenant's file, or a 404 that says how to find one. */
  async get(tenantId: string, id: string): Promise<FileRecord> {
    const file = await this.store.getFile(tenantId, id, this.clock.now());
    if (!file) throw notFound(id);
    return file;
  }

  list(tenantId: string, query: Omit<FileListQuery, 'now'>): Promise<FileRecord[]> {
    return this.store.listFiles(tenantId, { ...query, now: this.clock.now() });
  }

  /** The file and a stream of its bytes. */
  async content(tenantId: string, id: string): Promise<{ file: FileRecord; stream: Readable }> {
    const file = await this.get(tenantId, id);
    if (!(await this.blobs.has(file.sha256))) throw lostContent(id);
    return { file, stream: this.blobs.open(file.sha256) };
  }

  /** The file and all its bytes (ingest: one read instead of a check and a stream). */
  async read(tenantId: string, id: string): Promise<{ file: FileRecord; bytes: Buffer }> {
    const file = await this.get(tenantId, id);
    const bytes = await this.blobs.read(file.sha256);
    if (bytes === undefined) throw lostContent(id);
    return { file, bytes };
  }

  /** Deletes the tenant's file from every vector store, then its record, then its bytes if no other file has them. */
  async delete(tenantId: string, id: string): Promise<FileRecord> {
    const file = await this.get(tenantId, id);
    await this.onDelete(file);
    const deleted = await this.store.deleteFile(tenantId, id);
    if (!deleted) throw notFound(id);
    this.adjustUsage(tenantId, -deleted.bytes);
    await this.release(deleted.sha256);
    return deleted;
  }

  /** Deletes files past their expiry (every tenant's); resolves to how many went. */
  async sweepExpired(): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.store.expiredFiles(this.clock.now(), sweepBatch);
      for (const file of batch) {
        await this.onDelete(file);
        if (await this.store.deleteFile(file.tenantId, file.id)) {
          removed += 1;
          this.adjustUsage(file.tenantId, -file.bytes);
        }
        await this.release(file.sha256);
      }
      if (batch.length < sweepBatch) return removed;
    }
  }

  /** The tenant's bytes in use, from memory when read in the last few seconds. */
  private async used(tenantId: string): Promise<number> {
    const now = this.clock.monotonic();
    const cached = this.usage.get(tenantId);
    if (cached && now - cached.at < usageTtlMs) return cached.bytes;
    const bytes = await this.store.tenantBytes(tenantId);
    this.usage.set(tenantId, { bytes, at: now });
    return bytes;
  }

  private adjustUsage(tenantId: string, delta: number): void {
    const cached = this.usage.get(tenantId);
    if (cached) cached.bytes += delta;
  }

  private async release(sha256: string): Promise<void> {
    if ((await this.store.countBySha256(sha256)) === 0) await this.blobs.remove(sha256);
  }
}

function notFound(id: string): NimbusError {
  return new NimbusError('not_found', `No file with id '${id}'. GET /v1/files lists your files.`, { param: 'file_id' });
}

/** The 413 for a file past `knowledge.maxFileBytes`. */
export function fileTooLarge(limit: number): NimbusError {
  return new NimbusError('request_too_large', `The file is larger than the limit of ${limit} bytes (knowledge.maxFileBytes). Split it, or raise the limit.`, {
    param: 'file',
  });
}

function overQuota(used: number, quota: number, adding = 0): NimbusError {
  return new NimbusError(
    'storage_quota_exceeded',
    `This tenant's files take ${used} bytes of its ${quota}-byte storage quota${adding > 0 ? `, and this file has ${adding}` : ''}. Delete files (DELETE /v1/files/{id}) or ask the operator to raise knowledge.tenantStorageBytes.`,
    { param: 'file' },
  );
}

/** A file whose record stayed but whose bytes the home lost. */
function lostContent(id: string): NimbusError {
  return new NimbusError('not_found', `The content of file '${id}' is no longer on this server's disk (its home folder lost it); upload it again.`, {
    param: 'file_id',
  });
}
