/**
 * A request's cancellation: the client left, the server is shutting down, a deadline passed.
 * It costs a plain object until a library needs a real AbortSignal (node-llama-cpp, a timer):
 * creating an AbortSignal and adding and removing a listener on it cost about 9 µs here, close
 * to a tenth of a gateway request's CPU (docs/decisions/0009-gateway-hot-path.md), so the hot
 * path subscribes through `onAbort` and only the engines that need `signal` pay for one.
 */
export class Cancellation {
  private controller: AbortController | undefined;
  private listeners: Set<(reason: unknown) => void> | undefined;
  private abortReason: unknown;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  /** Why it was cancelled; undefined until then. */
  get reason(): unknown {
    return this.abortReason;
  }

  /** The same cancellation as an AbortSignal, made on first use (already aborted if it is). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Cancels once; later calls do nothing. Listeners run in the order they subscribed. */
  abort(reason: unknown = new Error('cancelled')): void {
    if (this.done) return;
    this.done = true;
    this.abortReason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
    this.controller?.abort(reason);
  }

  /** Calls `listener` once when cancelled (at once if it is); returns the unsubscribe. */
  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.done) {
      listener(this.abortReason);
      return noop;
    }
    (this.listeners ??= new Set()).add(listener);
    return () => this.listeners?.delete(listener);
  }

  /** Follows an AbortSignal (a caller's own); returns what stops following it. */
  follow(signal: AbortSignal): () => void {
    if (signal.aborted) {
      this.abort(signal.reason);
      return noop;
    }
    const onAbort = (): void => this.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }
}

const noop = (): void => undefined;

/** A cancellation that follows `signal` (a caller's AbortController). */
export function cancellationOf(signal: AbortSignal): Cancellation {
  const cancellation = new Cancellation();
  cancellation.follow(signal);
  return cancellation;
}
