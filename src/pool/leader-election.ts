/**
 * The pool lease, looked at every `checkEveryMs` by every control plane on a shared store: the
 * holder renews it, the others follow until it expires and then one of them takes it with the
 * next generation (rules in `cluster/pool-lease-rules.ts`, the row in `core/pool-lease.ts`). The
 * pool runtime asks `fence()` before it places or removes anything and passes it down to the
 * store, which refuses a stale one. A control plane that stops releases the lease, so a peer
 * takes over at its next look instead of after the expiry.
 */
import { leasePolicy, mayLead, nextLeaseStep, releasedLease, type LeasePolicy } from '../cluster/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Fence, LeaseRecord, LeaseStore } from '../core/pool-lease.js';

/** What the pool runtime needs of leadership: whether to act, and the fence for its writes. */
export interface Leadership {
  /** Whether this control plane runs reconcile and autoscale now. */
  leading(): boolean;
  /** The fence of the lease this control plane holds and may act on now; undefined while it follows. */
  fence(): Fence | undefined;
  /** Calls `listener` when this control plane starts or stops leading; returns the function that stops it. */
  watch(listener: (leading: boolean) => void): () => void;
}

/** A pool that has one control plane (SQLite): it always leads, and its writes carry no fence. */
export const soleLeader: Leadership & { sole: true } = {
  sole: true,
  leading: () => true,
  fence: () => undefined,
  watch: () => () => undefined,
};

/** Options of `LeaderElection`. */
export interface LeaderElectionOptions {
  store: LeaseStore;
  /** This control plane's name in the lease row (`host/pid/random`). */
  holder: string;
  /** The worker heartbeat interval the timings follow (`leasePolicy`). */
  heartbeatMs: number;
  clock?: Clock;
  /** What is led; `pool`. */
  name?: string;
  /** A look at the lease failed (the store away): this control plane stops leading once its lease runs out. */
  onError?: (error: unknown) => void;
  /** Started or stopped leading, with the generation (for the log). */
  onChange?: (leading: boolean, lease: LeaseRecord | undefined) => void;
}

/** One control plane's part in electing the pool's leader. */
export class LeaderElection implements Leadership {
  readonly policy: LeasePolicy;
  private readonly name: string;
  private readonly clock: Clock;
  /** The lease as this control plane last wrote it; undefined while it follows. */
  private held: LeaseRecord | undefined;
  private leadingBefore = false;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> | undefined;
  private readonly listeners = new Set<(leading: boolean) => void>();

  constructor(private readonly options: LeaderElectionOptions) {
    this.policy = leasePolicy(options.heartbeatMs);
    this.name = options.name ?? 'pool';
    this.clock = options.clock ?? systemClock;
  }

  /** Looks once (so a lone control plane leads before its first reconcile), then every `checkEveryMs`. */
  async start(): Promise<void> {
    await this.look();
    this.timer = setInterval(() => void this.look(), this.policy.checkEveryMs);
    this.timer.unref();
  }

  /** Stops looking and releases a lease it holds. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.looking;
    const held = this.held;
    this.held = undefined;
    this.report();
    if (held) await this.options.store.swapLease(held, releasedLease(held, this.clock.now())).catch(() => false);
  }

  fence(): Fence | undefined {
    const held = this.held;
    if (!held || !mayLead(held.expiresAt, this.clock.now(), this.policy)) return undefined;
    return { lease: held.name, generation: held.generation };
  }

  /** Whether this control plane leads now. */
  leading(): boolean {
    return this.fence() !== undefined;
  }

  watch(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One look at the lease: take, renew or follow. One at a time; a look due during one is skipped. */
  look(): Promise<void> {
    this.looking ??= this.lookOnce().finally(() => (this.looking = undefined));
    return this.looking;
  }

  private async lookOnce(): Promise<void> {
    try {
      const current = await this.options.store.readLease(this.name);
      const step = nextLeaseStep(this.name, current, this.options.holder, this.clock.now(), this.policy);
      if (step.kind === 'follow') this.held = undefined;
      else this.held = (await this.options.store.swapLease(current, step.next)) ? step.next : undefined;
    } catch (error) {
      // The lease it holds stays good until it runs out (`fence` checks the time); then it follows.
      this.options.onError?.(error);
    }
    this.report();
  }

  private report(): void {
    const leading = this.leading();
    if (leading === this.leadingBefore) return;
    this.leadingBefore = leading;
    this.options.onChange?.(leading, this.held);
    for (const listener of this.listeners) listener(leading);
  }
}
