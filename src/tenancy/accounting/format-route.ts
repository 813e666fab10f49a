/**
 * The route a call took (retries on other replicas, fallbacks to other models) in one format, so
 * a client (`x-nimbus-route`) and an operator (the ledger's `route`) read the same thing:
 * `big@gpu-a (upstream_error), big@gpu-b (upstream_timeout), small@gpu-c`. A stream whose replica
 * was lost mid-answer and continued on another reads `big@gpu-a (worker_lost), big@gpu-b (continued)`.
 */
import type { Attempt } from '../../core/engine.js';

/** The attempts as one line: `model@replica (error)`, joined by `, `. */
export function formatRoute(attempts: readonly Attempt[]): string {
  let out = '';
  for (const attempt of attempts) {
    if (out !== '') out += ', ';
    out += attempt.servedBy ? `${attempt.model}@${attempt.servedBy}` : attempt.model;
    if (attempt.error) out += ` (${attempt.error})`;
    else if (attempt.continued) out += ' (continued)';
  }
  return out;
}

/**
 * Adds one report to the tries: a report with an error for the try just reported as serving (the
 * same model and replica) is that try, cut after its first event, and replaces it, so each try is
 * listed once.
 */
export function noteAttempt(attempts: Attempt[], attempt: Attempt): void {
  const last = attempts[attempts.length - 1];
  if (attempt.error && last && !last.error && last.model === attempt.model && last.servedBy === attempt.servedBy) attempts[attempts.length - 1] = attempt;
  else attempts.push(attempt);
}

/** The try that served: the last one without an error; undefined when every try failed or none was made. */
export function servingAttempt(attempts: readonly Attempt[]): Attempt | undefined {
  for (let index = attempts.length - 1; index >= 0; index -= 1) if (!attempts[index]!.error) return attempts[index];
  return undefined;
}
