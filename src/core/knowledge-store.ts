/**
 * The knowledge section of the Store contract: uploaded files (their metadata; the bytes live on
 * disk under the home, named by sha256), vector stores, the files in them and their chunks, and
 * the lexical index over those chunks. Every read and write is scoped by tenant: another tenant's
 * file or store does not exist for a caller.
 */
import type { VectorStoreStore } from './vector-store-store.js';

/** What a file is for, as OpenAI names it: inputs a client uploads, outputs Nimbus writes. */
export const filePurposes = ['assistants', 'user_data', 'batch', 'vision', 'fine-tune', 'evals', 'assistants_output', 'batch_output'] as const;
export type FilePurpose = (typeof filePurposes)[number];

/** An uploaded file's metadata. */
export interface FileRecord {
  /** `file-...`, time-ordered. */
  id: string;
  tenantId: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  /** Hex sha256 of the content: the name of its bytes on disk (shared by identical uploads). */
  sha256: string;
  /** Unix ms. */
  createdAt: number;
  /** Unix ms after which it is gone (`expires_after`); null: kept until deleted. */
  expiresAt: number | null;
}

/** Paging of a file list, as OpenAI's cursor pages: `after` an id, newest or oldest first. */
export interface FileListQuery {
  purpose?: FilePurpose | undefined;
  /** Return files after this id in the chosen order. */
  after?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
  /** Files that expired before this time (unix ms) are left out. */
  now: number;
}

/** Persistence of files, and of vector stores (vector-store-store.ts). */
export interface KnowledgeStore extends VectorStoreStore {
  putFile(file: FileRecord): Promise<void>;
  /** The tenant's file, unless it expired before `now`. */
  getFile(tenantId: string, id: string, now: number): Promise<FileRecord | undefined>;
  /** Up to `limit` files in `order`; one more than asked tells the caller there are more. */
  listFiles(tenantId: string, query: FileListQuery): Promise<FileRecord[]>;
  /** Deletes the tenant's file record; resolves to it, or undefined when there was none. */
  deleteFile(tenantId: string, id: string): Promise<FileRecord | undefined>;
  /** Bytes the tenant's files take (each upload counted, even where two share their bytes). */
  tenantBytes(tenantId: string): Promise<number>;
  /** How many file records, of any tenant, still name these bytes (0: the blob may go). */
  countBySha256(sha256: string): Promise<number>;
  /** Files of every tenant that expired before `now`, oldest first, at most `limit`. */
  expiredFiles(now: number, limit: number): Promise<FileRecord[]>;
}
