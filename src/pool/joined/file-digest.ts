/** sha256 of model files, computed once per path, size and modification time (GGUFs are large). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** A file's size and sha256 (hex). */
export interface FileDigest {
  size: number;
  sha256: string;
}

/** Remembers digests so that every heartbeat does not hash gigabytes again. */
export class FileDigests {
  private readonly known = new Map<string, Promise<FileDigest>>();

  /** The digest of `path`; rehashed only when its size or modification time changed. */
  async of(path: string): Promise<FileDigest> {
    const facts = await stat(path);
    const key = `${path}\u0000${facts.size}\u0000${facts.mtimeMs}`;
    let digest = this.known.get(key);
    if (!digest) {
      digest = hashFile(path).then((sha256) => ({ size: facts.size, sha256 }));
      digest.catch(() => this.known.delete(key));
      this.known.set(key, digest);
    }
    return digest;
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
