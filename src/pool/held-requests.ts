/**
 * Requests held while their deployment has no replica ready (scale from zero): each waits until
 * a replica of its deployment is ready (`wake`), its deadline passes (`expire`, a 503
 * model_not_ready), its client goes (its signal aborts), or the server stops (`releaseAll`).
 * Deadlines are checked when the caller asks, on its injected clock, so tests move time by hand.
 */
import { NimbusError } from '../core/errors.js';

interface Waiter {
  deadline: number;
  timeoutMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** The held requests of every deployment. */
export class HeldRequests {
  private readonly waiting = new Map<string, Set<Waiter>>();

  /** Requests of `deployment` waiting now. */
  count(deployment: string): number {
    return this.waiting.get(deployment)?.size ?? 0;
  }

  /** Holds one request until `wake`, `expire` past `deadline`, `releaseAll`, or `signal`'s abort (rejects with its reason). */
  hold(deployment: string, deadline: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(signal.reason));
      const settle = (finish: () => void): void => {
        signal.removeEventListener('abort', onAbort);
        const set = this.waiting.get(deployment);
        set?.delete(waiter);
        if (set?.size === 0) this.waiting.delete(deployment);
        finish();
      };
      const waiter: Waiter = {
        deadline,
        timeoutMs,
        resolve: () => settle(resolve),
        reject: (error) => settle(() => reject(error)),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let set = this.waiting.get(deployment);
      if (!set) this.waiting.set(deployment, (set = new Set()));
      set.add(waiter);
    });
  }

  /** Lets every held request of `deployment` go on (a replica is ready). */
  wake(deployment: string): void {
    for (const waiter of [...(this.waiting.get(deployment) ?? [])]) waiter.resolve();
  }

  /** Deployments with requests held now. */
  deployments(): string[] {
    return [...this.waiting.keys()];
  }

  /** Answers 503 model_not_ready to every request held past its deadline at `now`. */
  expire(now: number): void {
    for (const [deployment, set] of [...this.waiting]) {
      for (const waiter of [...set]) {
        if (now < waiter.deadline) continue;
        waiter.reject(
          new NimbusError(
            'model_not_ready',
            `No replica of '${deployment}' became ready within ${waiter.timeoutMs / 1000} s (scale_from_zero_timeout_ms). Retry shortly, or see nimbus deployments explain ${deployment}.`,
            { headers: { 'retry-after': '5' } },
          ),
        );
      }
    }
  }

  /** Answers every held request with `error` (the server is stopping). */
  releaseAll(error: unknown): void {
    for (const set of [...this.waiting.values()]) for (const waiter of [...set]) waiter.reject(error);
  }
}
