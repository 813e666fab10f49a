/**
 * The model cache: Hugging Face files live at `<home>/models/hf/<owner>/<repo>/<revision>/<file>`,
 * so a path names its reference and listing the folder needs no index file to drift out of date.
 * A cached file is used as is, without asking the hub, so a server starts offline.
 */
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { assertGgufFile } from './assert-gguf-file.js';
import { downloadFile, type DownloadProgress } from './download.js';
import { hfHeaders, resolveHfFile } from './hub.js';
import { ModelDownloadError, toModelDownloadError } from './model-download-error.js';
import { formatModelRef, parseModelRef, type HfModelRef, type ModelRef } from './model-ref.js';

/** Where the cache lives and which hub fills it. */
export interface ModelCacheOptions {
  /** Nimbus's home folder; models go under `<home>/models/`. */
  home: string;
  /** Hugging Face endpoint, e.g. `https://huggingface.co`. */
  endpoint: string;
  /** Hugging Face token; when the key is absent, the HF_TOKEN environment variable. */
  token?: string;
  /** Longest wait for an answer, and longest silence inside a download, in milliseconds. */
  timeoutMs?: number;
}

/** One file in the cache. */
export interface CachedModel {
  /** The reference that names it, e.g. `hf:owner/repo/file.gguf`. */
  ref: string;
  path: string;
  size: number;
  modifiedAt: Date;
  /** A `.part` file: a download that stopped; `nimbus pull <ref>` resumes it. */
  incomplete: boolean;
}

/** How to report and stop a download, and what the file must hash to. */
export interface EnsureOptions {
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Expected sha256 from configuration; wins over the hub's. */
  sha256?: string;
}

/** Finds, downloads, lists and removes models under `<home>/models/`. */
export class ModelCache {
  /** Absolute path of `<home>/models`. */
  readonly folder: string;
  private readonly endpoint: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number | undefined;
  // Two models configured from one file download it once.
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(options: ModelCacheOptions) {
    this.folder = resolve(options.home, 'models');
    this.endpoint = options.endpoint;
    // An explicit `token: undefined` means none, so a command's own environment decides.
    this.token = 'token' in options ? options.token : process.env.HF_TOKEN;
    this.timeoutMs = options.timeoutMs;
  }

  /** Where `ref` lives: its cache path for hf refs, the absolute path for files. */
  localPath(ref: ModelRef | string): string {
    const parsed = toRef(ref);
    if (parsed.kind === 'file') return resolve(parsed.path);
    return join(this.folder, 'hf', parsed.owner, parsed.repo, parsed.revision, ...parsed.file.split('/'));
  }

  /** Whether `ref` is on disk, complete. */
  async has(ref: ModelRef | string): Promise<boolean> {
    return isFile(this.localPath(ref));
  }

  /** The absolute path of a usable GGUF file for `ref`, downloading it first when needed. */
  async ensure(ref: ModelRef | string, options: EnsureOptions = {}): Promise<string> {
    const parsed = toRef(ref);
    const path = this.localPath(parsed);
    if (parsed.kind === 'file') {
      await assertGgufFile(path);
      return path;
    }
    if (await isFile(path)) return path;
    let download = this.inFlight.get(path);
    if (!download) {
      download = this.download(parsed, path, options).finally(() => this.inFlight.delete(path));
      this.inFlight.set(path, download);
    }
    return download;
  }

  /** Every file in the cache, sorted by reference; `.part` files are listed as incomplete. */
  async list(): Promise<CachedModel[]> {
    const entries: CachedModel[] = [];
    for (const path of await filesUnder(this.folder)) {
      const incomplete = path.endsWith('.part');
      const finalPath = incomplete ? path.slice(0, -'.part'.length) : path;
      const ref = this.refOf(finalPath);
      if (ref === undefined) continue;
      const info = await stat(path);
      entries.push({ ref, path, size: info.size, modifiedAt: info.mtime, incomplete });
    }
    return entries.sort((left, right) => left.ref.localeCompare(right.ref) || Number(left.incomplete) - Number(right.incomplete));
  }

  /** Deletes `ref` and any partial download of it; false when neither was there. */
  async remove(ref: ModelRef | string): Promise<boolean> {
    const path = this.localPath(ref);
    const inside = relative(this.folder, path);
    if (inside === '' || inside.startsWith('..') || resolve(this.folder, inside) !== path) {
      throw new Error(
        `${path} is not in the model cache (${this.folder}); Nimbus only deletes models it downloaded. Delete the file yourself if you meant to.`,
      );
    }
    let removed = false;
    for (const candidate of [path, `${path}.part`]) {
      if (await isFile(candidate)) {
        await rm(candidate);
        removed = true;
      }
    }
    await this.pruneEmptyFolders(path);
    return removed;
  }

  private async download(ref: HfModelRef, path: string, options: EnsureOptions): Promise<string> {
    const name = formatModelRef(ref);
    const source = await resolveHfFile(ref, { endpoint: this.endpoint, token: this.token, signal: options.signal, timeoutMs: this.timeoutMs });
    try {
      await downloadFile({
        url: source.url,
        destination: path,
        expectedSize: source.size,
        expectedSha256: options.sha256 ?? source.sha256,
        headers: hfHeaders(this.token),
        onProgress: options.onProgress,
        signal: options.signal,
        timeoutMs: this.timeoutMs,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw toModelDownloadError(name, error);
    }
    try {
      await assertGgufFile(path);
    } catch {
      // Files without a sha256 (not in LFS) can be anything, an HTML error page included.
      await rm(path, { force: true });
      throw new ModelDownloadError(name, `the downloaded file does not start with the GGUF magic bytes, so it is not a GGUF model; it was deleted`, {
        retryable: false,
      });
    }
    return path;
  }

  /** The reference a cache path stands for, or undefined for stray files. */
  private refOf(path: string): string | undefined {
    const parts = relative(this.folder, path).split(sep);
    if (parts[0] !== 'hf') return /\.gguf$/i.test(path) ? path : undefined;
    const [, owner, repo, revision, ...file] = parts;
    try {
      return formatModelRef(parseModelRef(`hf:${owner}/${repo}@${revision}/${file.join('/')}`));
    } catch {
      return undefined;
    }
  }

  private async pruneEmptyFolders(path: string): Promise<void> {
    const stop = join(this.folder, 'hf');
    for (let folder = resolve(path, '..'); folder.startsWith(stop + sep); folder = resolve(folder, '..')) {
      try {
        await rmdir(folder);
      } catch {
        return; // not empty (or already gone): the folders above are not empty either
      }
    }
  }
}

function toRef(ref: ModelRef | string): ModelRef {
  return typeof ref === 'string' ? parseModelRef(ref) : ref;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function filesUnder(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile() && !entry.name.startsWith('.')) files.push(path);
  }
  return files;
}
