/**
 * The request-log view's reads, compiled once per call for whichever connection runs them (the
 * ledger thread on SQLite, the pool on PostgreSQL). Newest first by (created_at, id); the cursor
 * is written `created_at <= c and (created_at < c or id < i)` rather than a row comparison, so
 * both databases read it as one range of an index ending in (created_at, id) (migration 0043).
 */
import type { CompiledQuery, Kysely } from 'kysely';
import { maxRequestPageRows, type RequestLogSearch } from '../core/store.js';
import type { Database } from './schema.js';

/** The page `search` asks for, compiled. */
export function compileRequestSearch(db: Kysely<Database>, search: RequestLogSearch): CompiledQuery {
  let select = db.selectFrom('request_log').selectAll();
  if (search.tenantId !== undefined) select = select.where('tenant_id', '=', search.tenantId);
  if (search.keyIds !== undefined) {
    const keyIds = search.keyIds;
    // An empty list matches nothing (a key prefix that names no key); `in ()` is not SQL.
    select = keyIds.length === 1 ? select.where('key_id', '=', keyIds[0]!) : select.where('key_id', 'in', keyIds.length > 0 ? [...keyIds] : ['']);
  }
  if (search.model !== undefined) select = select.where('model', '=', search.model);
  if (search.status !== undefined) select = select.where('status', '=', search.status);
  if (search.appId !== undefined) select = select.where('app_id', '=', search.appId);
  if (search.since !== undefined) select = select.where('created_at', '>=', search.since);
  if (search.until !== undefined) select = select.where('created_at', '<', search.until);
  const after = search.after;
  if (after) {
    select = select.where('created_at', '<=', after.createdAt).where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb('id', '<', after.id)]));
  }
  return select
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(Math.max(1, Math.min(maxRequestPageRows, Math.floor(search.limit))))
    .compile();
}

/** One row by id (the unique index on id), compiled. */
export function compileRequestById(db: Kysely<Database>, id: string): CompiledQuery {
  return db.selectFrom('request_log').selectAll().where('id', '=', id).compile();
}
