/**
 * When to try again: exponential backoff with full jitter between tries (so replicas recovering
 * from an overload are not hit in lockstep), and the upstream's own Retry-After where it sent one.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface RetryOptions {
  /** Tries in all per model, the first included. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** The longest Retry-After worth waiting for. */
  maxRetryAfterMs: number;
}

/** Milliseconds to wait before try `attempt` (2, 3, ...): uniform in [0, min(max, base * 2^(attempt-2))]. */
export function backoffDelay(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  if (attempt < 2) return 0;
  const ceiling = Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** (attempt - 2));
  return Math.floor(random() * ceiling);
}

/**
 * The wait an upstream asked for, in milliseconds: `retry-after-ms` (OpenAI's, precise), else
 * `retry-after` as seconds or an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, nowMs: number): number | undefined {
  const precise = Number(headers['retry-after-ms']);
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(precise) && precise >= 0) return precise;
  const value = headers['retry-after'];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
