/**
 * OpenAI's rate-limit headers, from the counters a request was checked against:
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`. Where the key and its tenant both have
 * a limit, the one with less room left is reported. Absent when no such limit is set.
 */
import type { PlannedCheck } from './limit-plan.js';
import { formatWait } from './time-windows.js';

/** The headers for `checks`, whose counters hold `values` (after the reservation, or as found). */
export function rateLimitHeaders(checks: readonly PlannedCheck[], values: readonly number[], now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  addTightest(headers, requestHeaders, checks, values, now, 'requestsPerMinute');
  addTightest(headers, tokenHeaders, checks, values, now, 'tokensPerMinute');
  return headers;
}

const requestHeaders = ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'] as const;
const tokenHeaders = ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'] as const;

function addTightest(
  headers: Record<string, string>,
  [limitHeader, remainingHeader, resetHeader]: readonly [string, string, string],
  checks: readonly PlannedCheck[],
  values: readonly number[],
  now: number,
  name: PlannedCheck['name'],
): void {
  let best = -1;
  let bestRemaining = 0;
  for (let index = 0; index < checks.length; index += 1) {
    const check = checks[index]!;
    if (check.name !== name) continue;
    const remaining = Math.max(0, check.limit - (values[index] ?? 0));
    if (best < 0 || remaining < bestRemaining) [best, bestRemaining] = [index, remaining];
  }
  if (best < 0) return;
  const check = checks[best]!;
  headers[limitHeader] = String(check.limit);
  headers[remainingHeader] = String(bestRemaining);
  headers[resetHeader] = formatWait((check.window?.end ?? now) - now);
}
