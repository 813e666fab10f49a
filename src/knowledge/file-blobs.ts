/**
 * Uploaded files' bytes on disk under the home, named by their sha256 (`files/ab/abcdef...`):
 * identical uploads share one copy, and a file's metadata (in the store) names its bytes. Bytes
 * are written to a temporary name and renamed once hashed, so a reader never sees half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bytes written, and their hash. */
export interface StoredBlob {
  sha256: string;
  bytes: number;
}

export class FileBlobs {
  /** Folders made by this process: an upload makes its two folders once, not at every call. */
  private readonly made = new Set<string>();

  constructor(private readonly folder: string) {}

  private async folderFor(path: string): Promise<void> {
    if (this.made.has(path)) return;
    await mkdir(path, { recursive: true });
    this.made.add(path);
  }

  /** Where the bytes with this hash live. */
  path(sha256: string): string {
    return join(this.folder, sha256.slice(0, 2), sha256);
  }

  /**
   * Streams `source` to disk while hashing it. Resolves once the bytes are under their hash;
   * `keep` decides at the end whether they stay (false: an upload refused after its bytes came).
   */
  async write(source: Readable, keep: (blob: StoredBlob) => boolean = () => true): Promise<StoredBlob> {
    await this.folderFor(this.folder);
    const temporary = join(this.folder, `.upload-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    let renamed = false;
    try {
      await pipeline(source, counter, createWriteStream(temporary));
      const blob = { sha256: hash.digest('hex'), bytes };
      if (!keep(blob)) return blob;
      await this.folderFor(join(this.folder, blob.sha256.slice(0, 2)));
      await rename(temporary, this.path(blob.sha256));
      renamed = true;
      return blob;
    } finally {
      if (!renamed) await rm(temporary, { force: true });
    }
  }

  /** Whether the bytes with this hash are on disk. */
  async has(sha256: string): Promise<boolean> {
    return stat(this.path(sha256)).then(
      () => true,
      () => false,
    );
  }

  /** A stream of the bytes (errors with ENOENT when they are gone). */
  open(sha256: string): ReadStream {
    return createReadStream(this.path(sha256));
  }

  /** All the bytes at once (ingest reads small files whole); undefined when they are gone. */
  async read(sha256: string): Promise<Buffer | undefined> {
    return readFile(this.path(sha256)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  }

  /** Removes the bytes; no error when they are already gone. */
  async remove(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
  }
}
