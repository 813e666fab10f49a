/**
 * The 429 for a request that does not fit a limit: OpenAI's code (`rate_limit_exceeded` for
 * rates, `insufficient_quota` for budgets) and a message that names the limit, its owner, the
 * figures, and what to do about it.
 */
import { NimbusError } from '../core/errors.js';
import type { Demand, PlannedCheck } from './limit-plan.js';
import { nanoUsdToUsd } from './price-table.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { formatWait } from './time-windows.js';

function amountText(check: PlannedCheck, amount: number): string {
  return check.rule.measure === 'cost' ? `$${nanoUsdToUsd(amount).toFixed(6)}` : String(amount);
}

/** Builds the refusal for `checks[failed]`, whose counters held `values` when it was refused. */
export function limitRefusal(checks: readonly PlannedCheck[], failed: number, values: readonly number[], demand: Demand, now: number): NimbusError {
  const check = checks[failed]!;
  const found = values[failed] ?? 0;
  const owner = `${check.owner.scope} '${check.owner.id}'`;
  const limit = amountText(check, check.limit);
  const wait = check.window ? check.window.end - now : 1000;
  const headers = { ...rateLimitHeaders(checks, values, now), 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) };
  const raise = `ask an admin to raise ${check.rule.field} of ${owner}`;
  const tokenWords = check.rule.measure === 'tokens' ? ` (the prompt's upper bound plus max_tokens: ${demand.tokens})` : '';
  let message: string;
  if (check.rule.measure === 'concurrent') {
    message = `Too many concurrent requests on ${owner}: at most ${check.limit} may run at once. Retry when one finishes, or ${raise}.`;
  } else if (check.amount > check.limit) {
    message =
      `This request needs up to ${amountText(check, check.amount)}${tokenWords}, more than the ${check.rule.words} limit of ${limit} on ${owner}. ` +
      `Lower max_tokens or shorten the prompt, or ${raise}.`;
  } else if (check.rule.code === 'rate_limit_exceeded') {
    message =
      `Rate limit reached for ${check.rule.words} on ${owner}: limit ${limit}, used ${amountText(check, found)}, requested ${amountText(check, check.amount)}. ` +
      `Please try again in ${formatWait(wait)}.`;
  } else {
    message =
      `You exceeded your ${check.rule.words} budget on ${owner}: limit ${limit}, used ${amountText(check, found)}, this request reserves ${amountText(check, check.amount)}${tokenWords}. ` +
      `It resets at ${new Date(check.window?.end ?? now).toISOString()}; until then, ${raise}.`;
  }
  return new NimbusError(check.rule.code, message, { headers });
}
