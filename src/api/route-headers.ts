/**
 * The route a request took as response headers, sent before the first byte, in the ledger's
 * format (`formatRoute`), so a client and an operator read the same thing.
 */
import type { Attempt } from '../core/engine.js';
import { formatRoute } from '../tenancy/accounting/format-route.js';

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
