/**
 * A replica: one provider serving one model name. Several replicas of a name share its traffic;
 * each has its own circuit breaker and its own Retry-After block, so one bad server is skipped
 * while the others serve.
 */
import type { RoutingCandidate } from '../../core/replica-router.js';
import type { BreakerPermit, CircuitBreaker } from './circuit-breaker.js';
import type { UpstreamProvider } from './upstream-provider.js';

/** What a finished try says about its replica's health. */
export type Verdict = 'success' | 'failure' | 'none';

export class Replica implements RoutingCandidate {
  inFlight = 0;
  /** Estimated prompt plus output tokens of the requests in flight (least-outstanding-tokens). */
  outstandingTokens = 0;
  /** Monotonic milliseconds before which the replica asked not to get requests (429 + Retry-After). */
  blockedUntil = 0;

  constructor(
    /** The name clients use. */
    readonly model: string,
    /** The provider's name for the model. */
    readonly upstreamModel: string,
    readonly provider: UpstreamProvider,
    readonly breaker: CircuitBreaker,
  ) {}

  get id(): string {
    return this.provider.id;
  }

  /** Whether a request may go to it now. */
  available(now: number): boolean {
    return now >= this.blockedUntil && this.breaker.canTry();
  }
}

/** A replica taken for one try: counted in flight until settled, once, with a verdict for its breaker. */
export class ReplicaLease {
  private settled = false;

  constructor(
    readonly replica: Replica,
    private readonly permit: BreakerPermit,
    private readonly tokens = 0,
  ) {
    replica.inFlight += 1;
    replica.outstandingTokens += tokens;
  }

  settle(verdict: Verdict): void {
    if (this.settled) return;
    this.settled = true;
    this.replica.inFlight -= 1;
    this.replica.outstandingTokens -= this.tokens;
    if (verdict === 'success') this.replica.breaker.success(this.permit);
    else if (verdict === 'failure') this.replica.breaker.failure(this.permit);
    else this.replica.breaker.release(this.permit);
  }
}

/**
 * The next replica to try, in the router's order: one not tried yet and available now, else one
 * already tried and available now (a single replica is retried), else the one whose Retry-After
 * ends soonest if that is within `maxWaitMs`. Undefined when none can serve in time.
 */
export function pickReplica(
  order: readonly Replica[],
  tried: ReadonlySet<Replica>,
  now: number,
  maxWaitMs: number,
): { replica: Replica; waitMs: number } | undefined {
  for (const replica of order) if (!tried.has(replica) && replica.available(now)) return { replica, waitMs: 0 };
  for (const replica of order) if (replica.available(now)) return { replica, waitMs: 0 };
  let soonest: Replica | undefined;
  for (const replica of order) {
    if (replica.blockedUntil > now && replica.breaker.canTry() && (!soonest || replica.blockedUntil < soonest.blockedUntil)) soonest = replica;
  }
  if (!soonest || soonest.blockedUntil - now > maxWaitMs) return undefined;
  return { replica: soonest, waitMs: soonest.blockedUntil - now };
}
