/**
 * `GET /v1/requests`: the request log (the ledger's rows), newest first, filtered by tenant, key,
 * key prefix, model, status, app, time range or exact id, a page at a time (`after` is the
 * previous page's `next_cursor`). `GET /v1/requests/{id}`: one request. Each caller sees what
 * `/v1/usage` would show it: the operator every tenant, a tenant's admin its tenant, any other key
 * its own requests; another's request answers 404. The live tail is `/v1/events`' `request` events.
 */
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import { maxRequestPageRows as maxPageRows, type RequestLogSearch, type RequestStatus } from '../../core/store.js';
import { canSeeTenant, isOperator, tenantInScope } from '../admin-access.js';
import { tenantIdSchema } from '../admin-views.js';
import { parseTime } from '../parse-time.js';
import { decodeCursor, encodeCursor, requestView } from '../request-log-views.js';
import type { ServerContext } from '../server-context.js';

const parameters = new Set(['tenant', 'key', 'key_prefix', 'model', 'status', 'app', 'from', 'to', 'id', 'after', 'limit']);
const statuses: readonly RequestStatus[] = ['ok', 'error', 'cancelled', 'refused'];
const defaultPageRows = 50;

/** Whether `principal` may see a row of `tenantId` made with `keyId`. */
function maySeeRequest(principal: Principal, tenantId: string, keyId: string | null): boolean {
  if (isOperator(principal)) return true;
  if (principal.scopes.admin) return canSeeTenant(principal, tenantId);
  return keyId !== null && keyId === principal.keyId;
}

function textParameters(query: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  for (const [name, value] of Object.entries(query)) {
    if (!parameters.has(name)) {
      throw new NimbusError('unsupported_parameter', `Unknown query parameter '${name}'; GET /v1/requests takes ${[...parameters].join(', ')}.`, {
        param: name,
      });
    }
    if (Array.isArray(value)) throw new NimbusError('invalid_value', `Give '${name}' once.`, { param: name });
  }
  return query as Record<string, string | undefined>;
}

/** The search the query asks for, narrowed to what the caller may see (a 403 where it asks for more). */
async function searchOf(principal: Principal, text: Record<string, string | undefined>, context: ServerContext): Promise<RequestLogSearch> {
  const limit = text.limit === undefined ? defaultPageRows : Number(text.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageRows) {
    throw new NimbusError('invalid_value', `Invalid value for 'limit': use a whole number from 1 to ${maxPageRows}.`, { param: 'limit' });
  }
  if (text.tenant !== undefined && !tenantIdSchema.safeParse(text.tenant).success) {
    throw new NimbusError('invalid_value', `Invalid value for 'tenant': '${text.tenant}' is not a tenant id.`, { param: 'tenant' });
  }
  if (text.status !== undefined && !statuses.includes(text.status as RequestStatus)) {
    throw new NimbusError('invalid_value', `Invalid value for 'status': use one of ${statuses.join(', ')}.`, { param: 'status' });
  }
  const search: RequestLogSearch = { limit };
  if (principal.scopes.admin) {
    const tenantId = tenantInScope(principal, text.tenant);
    if (tenantId !== undefined) search.tenantId = tenantId;
    if (text.key !== undefined) search.keyIds = [text.key];
  } else {
    // A key without admin scope reads its own requests only, as with /v1/usage.
    if ((text.key !== undefined && text.key !== principal.keyId) || (text.tenant !== undefined && text.tenant !== principal.tenantId)) {
      throw new NimbusError('permission_denied', 'This API key may read only its own requests (it has no admin scope).', {
        param: text.key !== undefined ? 'key' : 'tenant',
      });
    }
    search.tenantId = principal.tenantId;
    search.keyIds = principal.keyId === null ? [] : [principal.keyId];
  }
  if (text.key_prefix !== undefined && text.key_prefix !== '') {
    // A key's shown prefix (`nmb_AbCd1234`), or more of the key: the keys whose prefix it is, or which start with it.
    const given = text.key_prefix;
    const keys = await context.store.tenancy.listApiKeys(search.tenantId);
    const matched = keys.filter((key) => given.length >= 6 && (key.prefix.startsWith(given) || given.startsWith(key.prefix))).map((key) => key.id);
    search.keyIds = search.keyIds ? search.keyIds.filter((id) => matched.includes(id)) : matched;
  }
  if (text.model !== undefined) search.model = text.model;
  if (text.status !== undefined) search.status = text.status as RequestStatus;
  if (text.app !== undefined) search.appId = text.app;
  if (text.from !== undefined) search.since = parseTime(text.from, 'from');
  if (text.to !== undefined) search.until = parseTime(text.to, 'to');
  if (text.after !== undefined) search.after = decodeCursor(text.after);
  return search;
}

export function registerRequestRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/v1/requests', async (request) => {
    const text = textParameters(request.query as Record<string, string | string[] | undefined>);
    const search = await searchOf(request.principal, text, context);
    await context.store.flush();
    if (text.id !== undefined) {
      // An exact id: that row, where it matches the rest of the search.
      const row = await context.store.getRequest(text.id);
      const found =
        row && maySeeRequest(request.principal, row.tenantId, row.keyId)
          ? (await context.store.searchRequests({ ...search, since: row.createdAt, until: row.createdAt + 1, limit: maxPageRows })).filter(
              (entry) => entry.id === row.id,
            )
          : [];
      return { object: 'list', data: found.map(requestView), has_more: false, next_cursor: null };
    }
    // One row more than the page tells whether there is a next one.
    const rows = await context.store.searchRequests({ ...search, limit: search.limit + 1 });
    const page = rows.slice(0, search.limit);
    const hasMore = rows.length > search.limit;
    return { object: 'list', data: page.map(requestView), has_more: hasMore, next_cursor: hasMore ? encodeCursor(page.at(-1)!) : null };
  });

  app.get('/v1/requests/:id', async (request) => {
    const { id } = request.params as { id: string };
    await context.store.flush();
    const row = await context.store.getRequest(id);
    if (!row || !maySeeRequest(request.principal, row.tenantId, row.keyId)) {
      throw new NimbusError('not_found', `No request '${id}' in the request log (it may belong to another key, or not be written yet).`, { param: 'id' });
    }
    return requestView(row);
  });
}
