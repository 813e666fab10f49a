/**
 * Backoff for replicas that fail to load: a deployment whose replica failed is not placed again
 * until its backoff has passed, 1 s after the first failure, doubling with each failure in a row
 * up to 5 min; a replica that loads resets it. Without it a model that cannot load (a truncated
 * file, a worker short of memory after all) is downloaded and loaded again on every reconcile.
 */

/** Delays of the backoff; merged over `defaultLoadBackoff`. */
export interface LoadBackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** 1 s, 2 s, 4 s ... 5 min. */
export const defaultLoadBackoff: LoadBackoffPolicy = { initialMs: 1000, maxMs: 300_000 };

/** A deployment's failures in a row and when it may be placed again. */
export interface LoadBackoff {
  failures: number;
  /** Unix ms from which placement may try again. */
  retryAt: number;
  /** The last failure in the worker's words. */
  lastError: string;
}

/** The wait after `failures` failures in a row (0 for none). */
export function loadBackoffDelay(failures: number, policy: LoadBackoffPolicy = defaultLoadBackoff): number {
  if (failures <= 0) return 0;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failures - 1, 40));
}

/** The backoff after one more failure at `now`. */
export function afterLoadFailure(previous: LoadBackoff | undefined, now: number, error: string, policy: LoadBackoffPolicy = defaultLoadBackoff): LoadBackoff {
  const failures = (previous?.failures ?? 0) + 1;
  return { failures, retryAt: now + loadBackoffDelay(failures, policy), lastError: error };
}

/** Whether placement may try the deployment again at `now`. */
export function mayPlaceAgain(backoff: LoadBackoff | undefined, now: number): boolean {
  return backoff === undefined || now >= backoff.retryAt;
}
