/**
 * A prompt cache in host memory, behind the slots' own KV caches (as llama-server's `--cache-ram`
 * does). A slot's cache holds only its last sequence, so a prefix asked for again after a few
 * other requests has been overwritten. Before a slot is handed to a request that would overwrite
 * its content, that content's state (tokens and KV) is saved to a file in RAM (/dev/shm where
 * present); a request whose prompt shares a longer prefix with a saved state than with any free
 * slot gets that state loaded into its slot and evaluates only the rest. Entries are kept in
 * least-recently-used order within a byte budget.
 *
 * The index (which entry shares the longest prefix, what to evict) is plain logic over token
 * arrays; the file I/O goes through the sequence's own save and load.
 *
 * Concurrency: requests on different slots save, load and evict at once. An entry being loaded is
 * pinned, so an eviction meanwhile drops it from the index but leaves its file until the load is
 * done. A load that fails anyway (file gone, disk trouble) must not leave the sequence's KV cache
 * out of step with its token list: node-llama-cpp forgets the tokens before reading the file, but
 * llama.cpp keeps the old cells when the file cannot be opened, and the next decode of that
 * sequence then fails llama.cpp's position check, which fails every request in the same batch. So
 * the sequence is emptied before a load, and a failed load leaves it empty: a miss.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';

/** One saved state: the tokens the sequence held and the file its KV state lies in. */
export interface PromptCacheEntry {
  readonly tokens: readonly Token[];
  readonly path: string;
  readonly bytes: number;
}

/** Files of entries in use: an evicted entry's file is removed only once its last load is done. */
export class FilePins {
  private readonly pins = new Map<string, number>();
  private readonly doomed = new Set<string>();

  constructor(private readonly remove: (path: string) => Promise<void>) {}

  /** Keeps `path` until the returned release is called (once). */
  pin(path: string): () => Promise<void> {
    this.pins.set(path, (this.pins.get(path) ?? 0) + 1);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const left = (this.pins.get(path) ?? 1) - 1;
      if (left > 0) {
        this.pins.set(path, left);
        return;
      }
      this.pins.delete(path);
      if (this.doomed.delete(path)) await this.remove(path);
    };
  }

  /** Removes `path` now, or when its last pin is released. */
  async discard(path: string): Promise<void> {
    if (this.pins.has(path)) this.doomed.add(path);
    else await this.remove(path);
  }

  /** Paths pinned now (tests). */
  get pinned(): number {
    return this.pins.size;
  }
}

/**
 * Prompt tokens already in a KV cache: the common prefix of what a sequence holds and the prompt.
 * The last prompt token is always evaluated again (its logits start the generation).
 */
export function cachedPrefix(held: readonly Token[], prompt: readonly Token[]): number {
  const limit = Math.min(held.length, prompt.length - 1);
  let index = 0;
  while (index < limit && held[index] === prompt[index]) index += 1;
  return index;
}

/** Whether `tokens` begins with all of `prefix`. */
function startsWith(tokens: readonly Token[], prefix: readonly Token[]): boolean {
  return tokens.length >= prefix.length && prefix.every((token, index) => tokens[index] === token);
}

/** The entries and their LRU order within a byte budget; no I/O (tested alone). */
export class PromptCacheIndex {
  /** Least recently used first. */
  private readonly entries: PromptCacheEntry[] = [];
  private totalBytes = 0;
  /** Bytes and tokens of every state ever added (their ratio is the KV state's bytes per token). */
  private addedBytes = 0;
  private addedTokens = 0;

  constructor(private readonly budgetBytes: number) {}

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Tokens the budget holds at the bytes per token of the states added so far; undefined before the first. */
  get tokenCapacity(): number | undefined {
    return this.addedTokens > 0 && this.addedBytes > 0 ? Math.floor((this.budgetBytes * this.addedTokens) / this.addedBytes) : undefined;
  }

  /** The entry sharing the longest prefix with `prompt`, when longer than `atLeast` tokens. */
  longest(prompt: readonly Token[], atLeast: number): { entry: PromptCacheEntry; length: number } | undefined {
    let best: { entry: PromptCacheEntry; length: number } | undefined;
    for (const entry of this.entries) {
      const length = cachedPrefix(entry.tokens, prompt);
      if (length > atLeast && length > (best?.length ?? 0)) best = { entry, length };
    }
    return best;
  }

  /** Whether a saved entry already holds all of `tokens` at its start (saving them again adds nothing). */
  covers(tokens: readonly Token[]): boolean {
    return this.entries.some((entry) => startsWith(entry.tokens, tokens));
  }

  /** Marks an entry used now. */
  touch(entry: PromptCacheEntry): void {
    const index = this.entries.indexOf(entry);
    if (index >= 0) this.entries.push(...this.entries.splice(index, 1));
  }

  /**
   * Adds an entry; entries it supersedes (whose tokens are a prefix of its own) and then the least
   * recently used ones past the budget leave. Returns the entries removed, whose files go too.
   */
  add(entry: PromptCacheEntry): PromptCacheEntry[] {
    const removed: PromptCacheEntry[] = [];
    for (let index = this.entries.length - 1; index >= 0; index -= 1) {
      const known = this.entries[index]!;
      if (startsWith(entry.tokens, known.tokens)) {
        removed.push(...this.entries.splice(index, 1));
        this.totalBytes -= known.bytes;
      }
    }
    this.entries.push(entry);
    this.totalBytes += entry.bytes;
    this.addedBytes += entry.bytes;
    this.addedTokens += entry.tokens.length;
    while (this.totalBytes > this.budgetBytes && this.entries.length > 0) {
      const oldest = this.entries.shift()!;
      this.totalBytes -= oldest.bytes;
      removed.push(oldest);
    }
    return removed;
  }

  /** Every entry, for cleanup. */
  all(): readonly PromptCacheEntry[] {
    return this.entries;
  }
}

/** Options of `PromptCache`. */
export interface PromptCacheOptions {
  /** Bytes of saved states kept, at most. */
  budgetBytes: number;
  /** Sequences shorter than this are not worth a file. */
  minTokens: number;
}

/** The prompt cache of one loaded model. */
export class PromptCache {
  private readonly index: PromptCacheIndex;
  private readonly files = new FilePins((path) => unlink(path).catch(() => undefined));
  private directory: Promise<string> | undefined;
  private counter = 0;
  /** Hits, misses, saves and failures, for metrics and tests. */
  readonly stats = { restored: 0, restoredTokens: 0, saved: 0, failedLoads: 0, failedSaves: 0 };

  constructor(private readonly options: PromptCacheOptions) {
    this.index = new PromptCacheIndex(options.budgetBytes);
  }

  /** Tokens its budget holds, at the bytes per token of the states saved so far; undefined before the first save. */
  get tokenCapacity(): number | undefined {
    return this.index.tokenCapacity;
  }

  /** The tokens of every saved state (for the worker's report of what its caches hold). */
  heldTokens(): Array<readonly Token[]> {
    return this.index.all().map((entry) => entry.tokens);
  }

  /**
   * Readies `sequence` for `prompt`: the part of its content the prompt would overwrite is saved
   * first (unless already saved, or `keep` is false: a batch line that ended, which nobody asks
   * for again); then, when a saved state shares a longer prefix with the prompt
   * than the sequence itself does, that state is loaded in its place. Returns the prompt tokens
   * now in the sequence's cache. Never fails for the cache's sake: a state that cannot be saved is
   * not kept, one that cannot be loaded is a miss (the prompt is evaluated).
   */
  async prepare(sequence: LlamaContextSequence, prompt: readonly Token[], keep = true): Promise<number> {
    const own = cachedPrefix(sequence.contextTokens, prompt);
    // What this request would overwrite stays restorable for a later one (unless the caller says nobody will ask for it).
    if (keep && own < sequence.contextTokens.length) await this.save(sequence);
    // A restore must beat what the slot holds by enough to pay for loading a file: a load reads the
    // entry's whole state and the tokens past the shared prefix are then erased, both under the
    // context lock that running decodes hold, so a gain shorter than a state worth saving is not
    // taken (a chat template's opening plus a few words, shared by unrelated prompts, once cost an
    // interactive request beside a batch 10-200 ms for a dozen tokens).
    const hit = this.index.longest(prompt, own + Math.max(this.options.minTokens, own >> 3));
    if (!hit) return own;
    // Pinned before the first await: an eviction meanwhile leaves the file until this load is done.
    const release = this.files.pin(hit.entry.path);
    try {
      // Emptied first, through node-llama-cpp, so that its token list and llama.cpp's cells agree
      // whatever the load does (see the header).
      await sequence.clearHistory();
      await sequence.loadStateFromFile(hit.entry.path, { acceptRisk: true });
    } catch {
      this.stats.failedLoads += 1;
      await sequence.clearHistory().catch(() => undefined);
      return 0;
    } finally {
      await release();
    }
    this.index.touch(hit.entry);
    this.stats.restored += 1;
    this.stats.restoredTokens += hit.length;
    return cachedPrefix(sequence.contextTokens, prompt);
  }

  /** Saves what the sequence holds, when long enough and not already saved; a failed save keeps nothing. */
  async save(sequence: LlamaContextSequence): Promise<void> {
    const tokens = sequence.contextTokens.slice();
    if (tokens.length < this.options.minTokens || this.index.covers(tokens)) return;
    const path = join(await this.folder(), `${(this.counter += 1)}.state`);
    let fileSize: number;
    try {
      ({ fileSize } = await sequence.saveStateToFile(path));
    } catch {
      // A full /dev/shm or the like: the request goes on without this entry.
      this.stats.failedSaves += 1;
      await unlink(path).catch(() => undefined);
      return;
    }
    if (fileSize > this.options.budgetBytes) {
      await unlink(path).catch(() => undefined);
      return;
    }
    this.stats.saved += 1;
    const removed = this.index.add({ tokens, path, bytes: fileSize });
    await Promise.all(removed.map((entry) => this.files.discard(entry.path)));
  }

  /** Removes every saved state. */
  async close(): Promise<void> {
    if (!this.directory) return;
    const folder = await this.directory.catch(() => undefined);
    if (folder) await rm(folder, { recursive: true, force: true });
  }

  /**
   * The cache's own folder, in RAM where the system has one, named after this process so that
   * folders left by processes that were killed (no chance to clean up) are removed here.
   */
  private folder(): Promise<string> {
    this.directory ??= (async () => {
      const parent = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
      await removeOrphans(parent);
      return mkdtemp(join(parent, `${folderPrefix}${process.pid}-`));
    })();
    return this.directory;
  }
}

const folderPrefix = 'nimbus-prompt-cache-';

/** Removes prompt-cache folders whose process is gone. */
async function removeOrphans(parent: string): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^nimbus-prompt-cache-(\d+)-/.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
