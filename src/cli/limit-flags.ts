/** The limit flags `nimbus tenants` and `nimbus keys` share, and how they become an API body. */
import { CommandError } from './admin-client.js';

/** Flag -> the admin API's limit field. */
export const limitFlags = {
  rpm: 'requests_per_minute',
  tpm: 'tokens_per_minute',
  concurrency: 'concurrent_requests',
  'tokens-per-day': 'tokens_per_day',
  'tokens-per-month': 'tokens_per_month',
  'cost-per-day': 'cost_per_day_usd',
  'cost-per-month': 'cost_per_month_usd',
} as const;

/** parseArgs options for the limit flags. */
export const limitOptions = Object.fromEntries(Object.keys(limitFlags).map((flag) => [flag, { type: 'string' as const }])) as Record<
  keyof typeof limitFlags,
  { type: 'string' }
>;

/** Help text for the limit flags. */
export const limitHelp = `Limits (a number, or 'none' to remove one; windows are UTC calendar minutes, days, months):
      --rpm N                requests per minute
      --tpm N                tokens per minute (prompt + completion)
      --concurrency N        requests running at once
      --tokens-per-day N     --tokens-per-month N
      --cost-per-day USD     --cost-per-month USD`;

/** The limits body from parsed flags; undefined when no limit flag was given. */
export function limitsFromFlags(values: Record<string, unknown>): Record<string, number | null> | undefined {
  const limits: Record<string, number | null> = {};
  for (const [flag, field] of Object.entries(limitFlags)) {
    const value = values[flag];
    if (typeof value !== 'string') continue;
    if (value === 'none') {
      limits[field] = null;
      continue;
    }
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new CommandError(`--${flag} takes a number (or 'none'), got '${value}'`);
    limits[field] = number;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** Limits as one short cell: `rpm=60 tokens_per_day=100000`, or `-`. */
export function formatLimits(limits: Record<string, number>): string {
  const parts = Object.entries(limits).map(([field, value]) => `${field}=${value}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}
