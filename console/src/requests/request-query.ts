/** The request log's filters as the page holds them, and the `/v1/requests` query they make. */
import type { RequestEvent } from '../api/types.js';

/** What the filter form holds; empty strings are no filter. */
export interface RequestFilters {
  tenant: string;
  key: string;
  model: string;
  status: string;
  app: string;
  /** `datetime-local` values, read as UTC. */
  from: string;
  to: string;
  /** A request id, or a key prefix (`nmb_...`). */
  search: string;
}

export const noFilters: RequestFilters = { tenant: '', key: '', model: '', status: '', app: '', from: '', to: '', search: '' };

/** A `datetime-local` value read as UTC, in unix seconds. */
function utcSeconds(value: string): number {
  return Math.floor(Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`) / 1000);
}

/** The query string of a page: the filters, the page size and the cursor of the page before. */
export function requestQuery(filters: RequestFilters, limit: number, after?: string): string {
  const query = new URLSearchParams();
  for (const name of ['tenant', 'key', 'model', 'status', 'app'] as const) if (filters[name]) query.set(name, filters[name].trim());
  if (filters.from) query.set('from', String(utcSeconds(filters.from)));
  if (filters.to) query.set('to', String(utcSeconds(filters.to)));
  const search = filters.search.trim();
  // A key is searched by its shown prefix (or more of it); anything else is a request id.
  if (search) query.set(search.startsWith('nmb_') ? 'key_prefix' : 'id', search);
  query.set('limit', String(limit));
  if (after) query.set('after', after);
  return query.toString();
}

/** Whether a finished request from the live feed could be a row of this search (the server decides the rest). */
export function mayMatch(event: RequestEvent, filters: RequestFilters): boolean {
  if (filters.tenant && event.tenant !== filters.tenant) return false;
  if (filters.key && event.key !== filters.key) return false;
  if (filters.model && event.model !== filters.model) return false;
  if (filters.status && event.status !== filters.status) return false;
  if (filters.app && event.app_id !== filters.app) return false;
  return !filters.to && !filters.search;
}
