/** Times in query parameters, as `/v1/usage` and `/v1/requests` take them. */
import { NimbusError } from '../core/errors.js';

/** `1735689600` (unix seconds), `2025-01-01` or `2025-01-01T12:00:00Z`, as unix milliseconds. */
export function parseTime(value: string, param: string): number {
  const at = /^\d{1,12}$/.test(value) ? Number(value) * 1000 : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(at)) {
    throw new NimbusError(
      'invalid_value',
      `Invalid value for '${param}': '${value}'. Use unix seconds, YYYY-MM-DD or an ISO 8601 time (2025-01-31T12:00:00Z).`,
      {
        param,
      },
    );
  }
  return at;
}
