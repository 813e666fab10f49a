/**
 * The route a call took (retries on other replicas, fallbacks to other models) in one format, so
 * a client (`x-nimbus-route`) and an operator (the ledger's `route`) read the same thing:
 * `big@gpu-a (upstream_error), big@gpu-b (upstream_timeout), small@gpu-c`.
 */
import type { Attempt } from '../../core/engine.js';

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

/** The try that served: the last one without an error; undefined when every try failed or none was made. */
export function servingAttempt(attempts: readonly Attempt[]): Attempt | undefined {
  for (let index = attempts.length - 1; index >= 0; index -= 1) if (!attempts[index]!.error) return attempts[index];
  return undefined;
}
