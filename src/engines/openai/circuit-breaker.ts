/**
 * A circuit breaker for one replica, as pure logic over an injected clock. Closed: requests go;
 * `failureThreshold` failures in a row open it. Open: nothing goes for `openMs`. Then half-open:
 * one probe goes; its success closes the breaker, its failure opens it for another `openMs`.
 * Verdicts of requests that started in an earlier state (a slow failure arriving after the
 * breaker opened) are ignored, so one outage counts once.
 */
import type { Clock } from '../../core/clock.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before a probe may go. */
  openMs: number;
}

/** Permission for one request; hand it back with its verdict. */
export interface BreakerPermit {
  /** This request is the half-open probe. */
  readonly probe: boolean;
  /** The breaker's epoch when it was granted: verdicts from an older epoch are ignored. */
  readonly epoch: number;
}

export class CircuitBreaker {
  private current: 'closed' | 'open' = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  /** Bumped on every state change, to recognize stale verdicts. */
  private epoch = 0;

  constructor(
    private readonly options: BreakerOptions,
    private readonly clock: Clock,
  ) {}

  get state(): BreakerState {
    if (this.current === 'closed') return 'closed';
    return this.clock.monotonic() - this.openedAt >= this.options.openMs ? 'half-open' : 'open';
  }

  /** Consecutive failures counted while closed. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Milliseconds until a probe may go (0 when requests may go now). */
  get retryInMs(): number {
    if (this.current === 'closed') return 0;
    return Math.max(0, this.openedAt + this.options.openMs - this.clock.monotonic());
  }

  /** Whether a request could go now, without taking permission. */
  canTry(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.probing);
  }

  /** Permission for one request, or undefined when the breaker refuses it. */
  acquire(): BreakerPermit | undefined {
    const state = this.state;
    if (state === 'closed') return { probe: false, epoch: this.epoch };
    if (state === 'open' || this.probing) return undefined;
    this.probing = true;
    return { probe: true, epoch: this.epoch };
  }

  /** The request proved the replica healthy. */
  success(permit: BreakerPermit): void {
    if (permit.epoch !== this.epoch) return;
    if (permit.probe) this.close();
    else this.failures = 0;
  }

  /** The request failed because of the replica (unreachable, timed out, 5xx, dropped). */
  failure(permit: BreakerPermit): void {
    if (permit.epoch !== this.epoch) return;
    if (permit.probe) {
      this.open();
      return;
    }
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) this.open();
  }

  /** The request ended without a verdict (its client left, or the fault was the request's): frees a probe. */
  release(permit: BreakerPermit): void {
    if (permit.epoch === this.epoch && permit.probe) this.probing = false;
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.clock.monotonic();
    this.probing = false;
    this.failures = 0;
    this.epoch += 1;
  }

  private close(): void {
    this.current = 'closed';
    this.probing = false;
    this.failures = 0;
    this.epoch += 1;
  }
}
