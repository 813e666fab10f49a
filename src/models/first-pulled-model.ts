/**
 * The first model pulled into the cache while the server runs, for a server that has none to
 * serve: an offline first run is then fixed by `nimbus pull REF` (into the same home), or a pull
 * through the API or the console, with no restart. It watches for one model only: once that one
 * is found (or the server got a model another way), loading stays explicit.
 *
 * `nimbus pull` is another process, so the cache folder is polled (a listing of a few files,
 * only while the server has no model); a pull through this server's API is seen at once.
 */
import type { CachedModel } from './model-cache.js';
import type { PullJob } from './model-pulls.js';

/** A finished file in the cache. */
export interface PulledModel {
  /** Its reference, e.g. `hf:owner/repo/file.gguf`. */
  ref: string;
  path: string;
}

/** What it watches and what it calls. */
export interface FirstPulledModelOptions {
  cache: { list(): Promise<CachedModel[]>; localPath(ref: string): string };
  /** This server's pulls (API and console); absent where there are none. */
  pulls?: { watch(watcher: (job: PullJob) => void): () => void };
  /** Milliseconds between two listings of the cache. */
  pollMs?: number;
  /** Asked before `onFound`: false when the server got a model another way, which ends the watch. */
  stillWanted: () => boolean | Promise<boolean>;
  /** Called once, with the first model that arrived after `start`. */
  onFound: (model: PulledModel) => void | Promise<void>;
  /** A listing that failed (it is tried again at the next poll), or a first model that could not be served. */
  onError?: (error: unknown) => void;
}

/** Watches the cache for one new model file; see the module comment. */
export class FirstPulledModel {
  private readonly known = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopWatchingPulls: (() => void) | undefined;
  private state: 'idle' | 'watching' | 'done' = 'idle';
  private checking: Promise<void> | undefined;

  constructor(private readonly options: FirstPulledModelOptions) {}

  /** Notes the files already cached (those are not "pulled while it runs"), then watches. */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    for (const file of await this.options.cache.list()) if (!file.incomplete) this.known.set(file.path, file.modifiedAt.getTime());
    this.state = 'watching';
    this.stopWatchingPulls = this.options.pulls?.watch((job) => {
      if (job.state === 'done') void this.offer({ ref: job.ref, path: this.options.cache.localPath(job.ref) });
    });
    const poll = (): void => {
      this.timer = setTimeout(() => {
        void this.check().finally(() => this.state === 'watching' && poll());
      }, this.options.pollMs ?? 1000);
      this.timer.unref();
    };
    poll();
  }

  /** Stops watching (the server got a model, or is closing). */
  stop(): void {
    this.state = 'done';
    clearTimeout(this.timer);
    this.stopWatchingPulls?.();
  }

  /** Lists the cache once and offers the newest file that was not there before. */
  private check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const arrived = (await this.options.cache.list())
          .filter((file) => !file.incomplete && this.known.get(file.path) !== file.modifiedAt.getTime())
          .sort((left, right) => right.modifiedAt.getTime() - left.modifiedAt.getTime());
        const newest = arrived[0];
        if (newest) await this.offer({ ref: newest.ref, path: newest.path });
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  private async offer(model: PulledModel): Promise<void> {
    if (this.state !== 'watching') return;
    this.stop();
    try {
      if (await this.options.stillWanted()) await this.options.onFound(model);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
