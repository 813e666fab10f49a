/**
 * Tracks requests in flight so SIGTERM can stop accepting, let running generations finish up to
 * a deadline, and then cut the rest cleanly.
 */
/** What shutdown cancels: a request's Cancellation (or an AbortController). */
interface Abortable {
  abort(reason?: unknown): void;
}

export class Lifecycle {
  private readonly active = new Set<Abortable>();
  private idleWaiters: Array<() => void> = [];
  /** True once shutdown began: /readyz answers 503 and new requests are refused. */
  draining = false;

  /** Registers a request; call the returned function when it ends. */
  track(abort: Abortable): () => void {
    this.active.add(abort);
    return () => {
      this.active.delete(abort);
      if (this.active.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
  }

  get inFlight(): number {
    return this.active.size;
  }

  /** Waits for in-flight requests; after `deadlineMs` aborts the rest and waits for them to end. */
  async drain(deadlineMs: number): Promise<{ finished: boolean }> {
    this.draining = true;
    if (this.active.size === 0) return { finished: true };
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), deadlineMs);
    });
    const result = await Promise.race([idle, expired]);
    clearTimeout(timer);
    if (result !== 'expired') return { finished: true };
    for (const abort of this.active) abort.abort(new Error('server shutting down'));
    await idle;
    return { finished: false };
  }
}
