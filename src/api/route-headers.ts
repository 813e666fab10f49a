/**
 * The route a request took (retries on other replicas, fallbacks to other models) as response
 * headers and as the request log's `route`, in one format, so a client and an operator read the
 * same thing: `big@gpu-a (upstream_error), big@gpu-b (upstream_timeout), small@gpu-c`.
 */
import type { Attempt } from '../core/engine.js';

/** The attempts as one line: `model@replica (error)`, joined by `, `. */
export function formatRoute(attempts: readonly Attempt[]): string {
  let out = '';
  for (const attempt of attempts) {
    if (out !== '') out += ', ';
    out += attempt.servedBy ? `${attempt.model}@${attempt.servedBy}` : attempt.model;
    if (attempt.error) out += ` (${attempt.error})`;
  }
  return out;
}

/**
 * Adds the headers sent before the first byte to `headers`: `x-nimbus-model` (the model that
 * served, after aliases and fallbacks), `x-nimbus-served-by` (its replica, where the engine
 * picked one) and `x-nimbus-route` (every try). Nothing when the engine reported nothing.
 */
export function addRouteHeaders(headers: Record<string, string>, attempts: readonly Attempt[]): void {
  const last = attempts[attempts.length - 1];
  if (!last) return;
  headers['x-nimbus-model'] = last.model;
  headers['x-nimbus-route'] = formatRoute(attempts);
  if (last.servedBy) headers['x-nimbus-served-by'] = last.servedBy;
}
