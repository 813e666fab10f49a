/**
 * `GET /v1/alerts`: the alerts the leader evaluated (decision 0022), newest first, each with a
 * `link` to the console page of its subject. The operator sees every alert, the whole cloud's
 * (workers, deployments) included; any other key sees its own tenant's (budgets, the emergency
 * stop). `state=firing` or `resolved` narrows; `limit` (default 100, at most 500). Transitions
 * also reach the live feed as `alert` events.
 */
import type { FastifyInstance } from 'fastify';
import type { AlertQuery, AlertRecord } from '../../core/alerts.js';
import { NimbusError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import { isOperator } from '../admin-access.js';
import type { ServerContext } from '../server-context.js';

const parameters = new Set(['state', 'limit']);
const maxRows = 500;

/** One alert as the API writes it: times in unix seconds; `change` on live events only. */
export function alertView(alert: AlertRecord, change?: 'fired' | 'resolved'): Record<string, unknown> {
  return {
    object: 'alert',
    id: alert.key,
    kind: alert.kind,
    subject: alert.subject,
    tenant: alert.tenantId,
    state: alert.state,
    message: alert.message,
    link: alert.link,
    first_seen_at: Math.floor(alert.firstSeenAt / 1000),
    last_seen_at: Math.floor(alert.lastSeenAt / 1000),
    resolved_at: alert.resolvedAt === null ? null : Math.floor(alert.resolvedAt / 1000),
    fired: alert.fired,
    ...(change ? { change } : {}),
  };
}

/** Whether `principal` may see an alert of `tenantId` (null: the whole cloud's). */
export function maySeeAlert(principal: Principal, tenantId: string | null): boolean {
  return isOperator(principal) || (tenantId !== null && tenantId === principal.tenantId);
}

function queryOf(principal: Principal, query: Record<string, string | string[] | undefined>): AlertQuery {
  for (const [name, value] of Object.entries(query)) {
    if (!parameters.has(name))
      throw new NimbusError('unsupported_parameter', `Unknown query parameter '${name}'; GET /v1/alerts takes state and limit.`, { param: name });
    if (Array.isArray(value)) throw new NimbusError('invalid_value', `Give '${name}' once.`, { param: name });
  }
  const { state, limit } = query as { state?: string; limit?: string };
  if (state !== undefined && state !== 'firing' && state !== 'resolved')
    throw new NimbusError('invalid_value', "Invalid value for 'state': use firing or resolved.", { param: 'state' });
  const rows = limit === undefined ? 100 : Number(limit);
  if (!Number.isInteger(rows) || rows < 1 || rows > maxRows)
    throw new NimbusError('invalid_value', `Invalid value for 'limit': use a whole number from 1 to ${maxRows}.`, { param: 'limit' });
  return { limit: rows, ...(state ? { state } : {}), ...(isOperator(principal) ? {} : { tenantId: principal.tenantId }) };
}

export function registerAlertRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/v1/alerts', async (request) => {
    const alerts = await context.store.alerts.listAlerts(queryOf(request.principal, request.query as Record<string, string | string[] | undefined>));
    return { object: 'list', data: alerts.map((alert) => alertView(alert)) };
  });
}
