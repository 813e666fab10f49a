/**
 * Downloads one file to disk, resumably and verifiably. Bytes go to `<destination>.part`; only a
 * file whose size and sha256 check out is renamed to its final name, so a file under the final
 * name is always whole. An interrupted download keeps its .part and the next call resumes it
 * with a Range request.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeNetworkFailure } from './describe-network-failure.js';
import { DownloadError } from './download-error.js';
import { formatBytes } from './format-bytes.js';
import { firstHeader, requestFollowingRedirects, type FollowedResponse } from './request-following-redirects.js';

/** How far a download has come. */
export interface DownloadProgress {
  /** Bytes in the file so far, including those of a resumed .part. */
  received: number;
  /** Size of the whole file, when the source or the server says. */
  total?: number;
  /** Bytes that were already on disk when this download started (0 when fresh). */
  resumedFrom: number;
}

/** What to download, where, and what it must turn out to be. */
export interface DownloadOptions {
  url: string;
  /** Final path; bytes are written to `destination + '.part'` until verified. */
  destination: string;
  expectedSize?: number;
  /** Lowercase or uppercase hex. */
  expectedSha256?: string;
  headers?: Record<string, string>;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Longest wait for headers, and longest silence inside the body, in milliseconds. */
  timeoutMs?: number;
}

/** The verified file. */
export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
  resumedFrom: number;
}

const retryHint = 're-running the command retries';

/** Streams `url` to `destination` via a .part file, resuming one that exists; throws DownloadError on failure. */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const partPath = `${options.destination}.part`;
  await mkdir(dirname(options.destination), { recursive: true });
  let offset = await fileSize(partPath);
  if (options.expectedSize !== undefined && offset > options.expectedSize) {
    // Longer than the file can be: not a prefix of it, so nothing is worth keeping.
    await rm(partPath, { force: true });
    offset = 0;
  }
  const hash = createHash('sha256');
  if (offset > 0) await hashFile(partPath, hash);
  if (options.expectedSize !== undefined && offset === options.expectedSize) {
    return verifyAndRename(options, partPath, { size: offset, hash, resumedFrom: offset });
  }
  return verifyAndRename(options, partPath, await fetchIntoPart(options, partPath, offset, hash));
}

/** The bytes now in the .part file. */
interface PartState {
  size: number;
  hash: Hash;
  /** Bytes kept from an earlier attempt. */
  resumedFrom: number;
}

/** Requests the missing bytes and appends them; restarts from zero when the server ignores Range. */
async function fetchIntoPart(options: DownloadOptions, partPath: string, offset: number, hash: Hash): Promise<PartState> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const headers = { ...options.headers, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) };
    const response = await requestFollowingRedirects(options.url, { method: 'GET', headers, signal: options.signal, timeoutMs: options.timeoutMs });
    const status = response.statusCode;
    const range = parseContentRange(firstHeader(response.headers, 'content-range'));
    if (status === 200) {
      // The server ignored Range (or none was sent): the body is the whole file.
      return streamBody(options, response, partPath, 0, createHash('sha256'), contentLength(response) ?? options.expectedSize);
    }
    if (status === 206 && offset > 0 && range?.start === offset) {
      return streamBody(options, response, partPath, offset, hash, range.total ?? options.expectedSize);
    }
    await response.body.dump();
    // "Nothing from byte N on" with a total of N: the .part already holds the whole file.
    if (status === 416 && offset > 0 && range?.total === offset) return { size: offset, hash, resumedFrom: offset };
    if (status !== 206 && status !== 416) throw httpError(status, response.url);
    // A range that does not start where the .part ends, or a .part longer than the file: start over.
    await rm(partPath, { force: true });
    offset = 0;
    hash = createHash('sha256');
  }
  throw new DownloadError(`the server at ${new URL(options.url).host} answered Range requests inconsistently; ${retryHint}`, { retryable: true });
}

async function streamBody(
  options: DownloadOptions,
  response: FollowedResponse,
  partPath: string,
  offset: number,
  hash: Hash,
  total: number | undefined,
): Promise<PartState> {
  const resumedFrom = offset;
  let received = offset;
  options.onProgress?.({ received, total, resumedFrom });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      received += chunk.length;
      options.onProgress?.({ received, total, resumedFrom });
      callback(null, chunk);
    },
  });
  try {
    await pipeline(response.body, counter, createWriteStream(partPath, { flags: offset > 0 ? 'a' : 'w' }), { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = describeNetworkFailure(error, response.url) ?? (error as Error).message;
    throw interrupted(reason, received, total, error);
  }
  // A body that ended early without an error (the server closed a chunked response).
  if (total !== undefined && received < total) throw interrupted('the server ended the response early', received, total);
  return { size: received, hash, resumedFrom };
}

async function verifyAndRename(options: DownloadOptions, partPath: string, { size, hash, resumedFrom }: PartState): Promise<DownloadResult> {
  if (options.expectedSize !== undefined && size !== options.expectedSize) {
    await rm(partPath, { force: true });
    throw new DownloadError(`size mismatch: expected ${options.expectedSize} bytes but received ${size}; the partial file was deleted and ${retryHint}`, {
      retryable: true,
    });
  }
  const sha256 = hash.digest('hex');
  const expected = options.expectedSha256?.toLowerCase();
  if (expected !== undefined && sha256 !== expected) {
    await rm(partPath, { force: true });
    throw new DownloadError(`sha256 mismatch: expected ${expected} but the file hashes to ${sha256}; the partial file was deleted and ${retryHint}`, {
      retryable: true,
    });
  }
  await rename(partPath, options.destination);
  return { path: options.destination, size, sha256, resumedFrom };
}

function interrupted(reason: string, received: number, total: number | undefined, cause?: unknown): DownloadError {
  const of = total === undefined ? '' : ` of ${formatBytes(total)}`;
  return new DownloadError(
    `the download stopped after ${formatBytes(received)}${of} (${reason}); the partial file is kept and re-running the command resumes it`,
    {
      retryable: true,
      cause,
    },
  );
}

function httpError(status: number, url: string): DownloadError {
  const where = new URL(url);
  if (status === 404) return new DownloadError(`${where.href} was not found (HTTP 404)`, { retryable: false, status });
  if (status === 401 || status === 403) return new DownloadError(`${where.host} refused access (HTTP ${status})`, { retryable: false, status });
  const retryable = status === 408 || status === 429 || status >= 500;
  return new DownloadError(`${where.host} answered HTTP ${status}${retryable ? `; ${retryHint}` : ''}`, { retryable, status });
}

// `bytes START-END/TOTAL`, or `bytes *` then `/TOTAL` (a 416); TOTAL may be `*` (unknown).
function parseContentRange(value: string | undefined): { start?: number; total?: number } | undefined {
  const match = value === undefined ? null : /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) return undefined;
  return { start: match[1] === undefined ? undefined : Number(match[1]), total: match[2] === '*' || match[2] === undefined ? undefined : Number(match[2]) };
}

// A compressed body's Content-Length is not the file's size.
function contentLength(response: FollowedResponse): number | undefined {
  if (firstHeader(response.headers, 'content-encoding') !== undefined) return undefined;
  const value = firstHeader(response.headers, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
