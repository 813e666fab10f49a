/**
 * `GET /v1/me/limits`: the caller's own limits (its key's and its tenant's requests and tokens
 * per minute, concurrent requests, token and cost budgets per UTC day and month), what is used and
 * left of each, and when each resets, read by the admission gate from the counters it admits
 * against (`UsageGate.standing`), so a request fits exactly when its amount is at most every
 * `remaining`. With `?app=NAME`, the limits and budget of that app (one more owner of its calls'
 * reservations) too; `app` is null without.
 *
 * `GET /v1/tenants/{id}/limits`: a tenant's own limits (none of its keys'), read the same way, for
 * the operator (any tenant) and a tenant's admin (its own): the budget the console draws when the
 * operator looks at that tenant's usage.
 */
import type { FastifyInstance } from 'fastify';
import { authorizeApp } from '../../apps/app-access.js';
import { NimbusError } from '../../core/errors.js';
import { canSeeTenant, requireAdmin } from '../admin-access.js';
import type { Limits } from '../../core/tenancy-store.js';
import { limitRules } from '../../tenancy/limit-plan.js';
import type { LimitStanding } from '../../tenancy/limit-standing.js';
import { nanoUsdToUsd } from '../../tenancy/price-table.js';
import { limitsOf } from '../apps/app-call.js';
import type { ServerContext } from '../server-context.js';

/** One standing as the API writes it: cost in US dollars, times in unix seconds. */
function standingView(standing: LimitStanding): Record<string, unknown> {
  const rule = limitRules[standing.name];
  const amount = (value: number): number => (rule.measure === 'cost' ? nanoUsdToUsd(value) : value);
  return {
    scope: standing.owner.scope,
    owner: standing.owner.id,
    name: rule.field,
    window: rule.window ?? null,
    unit: rule.measure === 'cost' ? 'usd' : rule.measure,
    limit: amount(standing.limit),
    used: amount(standing.used),
    remaining: amount(standing.remaining),
    resets_at: standing.resetsAt === null ? null : Math.floor(standing.resetsAt / 1000),
  };
}

export function registerMeLimitsRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/v1/me/limits', async (request) => {
    const { principal } = request;
    const name = (request.query as { app?: string }).app;
    let app: { id: string; limits: Limits } | undefined;
    if (name !== undefined) {
      // The app's limits as its calls reserve them, for a caller that may call it.
      authorizeApp(principal, name);
      const record = await context.apps.live(principal.tenantId, name);
      if (!record) throw new NimbusError('not_found', `The app '${name}' does not exist. GET /v1/apps lists the apps you may call.`, { param: 'app' });
      app = limitsOf(record);
    }
    const standings = await context.gate.standing(principal, app);
    return { object: 'limits', tenant: principal.tenantId, key: principal.keyId, app: name ?? null, data: standings.map(standingView) };
  });

  app.get<{ Params: { id: string } }>('/v1/tenants/:id/limits', async (request) => {
    requireAdmin(request.principal);
    const { id } = request.params;
    // Another tenant's, to a tenant's admin, is as absent as one that does not exist (as GET /v1/tenants/{id}).
    const tenant = canSeeTenant(request.principal, id) ? await context.store.tenancy.getTenant(id) : undefined;
    if (!tenant) throw new NimbusError('not_found', `No tenant '${id}'. GET /v1/tenants (or 'nimbus tenants') lists the tenants you may see.`, { param: 'id' });
    const standings = await context.gate.tenantStanding(id);
    return { object: 'limits', tenant: id, key: null, app: null, data: standings.map(standingView) };
  });
}
