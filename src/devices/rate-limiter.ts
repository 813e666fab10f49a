/**
 * Per-device rate limits as token buckets: `burst` commands at once, refilled at `perMinute`.
 * The clock is injected, so tests do not sleep.
 */
import type { Clock } from '../core/clock.js';

/** How many commands a device accepts. */
export interface RateLimit {
  perMinute: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Pick<Clock, 'monotonic'>,
  ) {}

  /** Milliseconds until `key` may send again; 0 when it may now. Does not take a token. */
  waitMs(key: string): number {
    const bucket = this.refill(key);
    if (bucket.tokens >= 1) return 0;
    return Math.ceil(((1 - bucket.tokens) * 60_000) / this.limit.perMinute);
  }

  /** Takes a token; false when none is left. */
  take(key: string): boolean {
    const bucket = this.refill(key);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private refill(key: string): Bucket {
    const now = this.clock.monotonic();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) * this.limit.perMinute) / 60_000);
    bucket.at = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}
