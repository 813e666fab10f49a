/**
 * The tenants admin API: `GET /v1/tenants`, `POST /v1/tenants`, `GET /v1/tenants/{id}`,
 * `PATCH /v1/tenants/{id}` (name, limits). Creating and changing tenants is the operator's;
 * a tenant's admin sees only its own.
 */
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { canSeeTenant, isOperator, requireAdmin, requireOperator } from '../admin-access.js';
import { applyLimits, createTenantSchema, namedLimitsChange, requireNamedLimitsChange, tenantView, updateNamedLimitsSchema } from '../admin-views.js';
import type { ServerContext } from '../server-context.js';

const notFound = (id: string): NimbusError =>
  new NimbusError('not_found', `No tenant '${id}'. GET /v1/tenants (or 'nimbus tenants') lists the tenants you may see.`, { param: 'id' });

export function registerTenantRoutes(app: FastifyInstance, context: ServerContext): void {
  const tenants = context.store.tenancy;

  app.get('/v1/tenants', async (request) => {
    requireAdmin(request.principal);
    const all = await tenants.listTenants();
    const visible = isOperator(request.principal) ? all : all.filter((tenant) => tenant.id === request.principal.tenantId);
    return { object: 'list', data: visible.map(tenantView) };
  });

  app.post('/v1/tenants', async (request, reply) => {
    requireOperator(request.principal, 'create tenants');
    const body = parseRequest(createTenantSchema, request.body);
    const tenant = { id: body.id, name: body.name ?? body.id, limits: applyLimits({}, body.limits), createdAt: Date.now() };
    if (!(await tenants.createTenant(tenant))) {
      throw new NimbusError('conflict', `A tenant with id '${body.id}' already exists; pick another id, or change it with PATCH /v1/tenants/${body.id}.`, {
        param: 'id',
      });
    }
    return reply.code(201).send(tenantView(tenant));
  });

  app.get<{ Params: { id: string } }>('/v1/tenants/:id', async (request) => {
    requireAdmin(request.principal);
    const { id } = request.params;
    const tenant = canSeeTenant(request.principal, id) ? await tenants.getTenant(id) : undefined;
    if (!tenant) throw notFound(id);
    return tenantView(tenant);
  });

  app.patch<{ Params: { id: string } }>('/v1/tenants/:id', async (request) => {
    requireOperator(request.principal, 'change tenants');
    const body = requireNamedLimitsChange(parseRequest(updateNamedLimitsSchema, request.body));
    const { id } = request.params;
    const current = await tenants.getTenant(id);
    if (!current) throw notFound(id);
    const change = namedLimitsChange(body, current.limits);
    const updated = await tenants.updateTenant(id, change);
    await context.gate.changed({
      tenantId: id,
      ...(change.limits ? { limits: { tenantId: id, owner: { scope: 'tenant', id }, before: current.limits, after: change.limits } } : {}),
    });
    return tenantView(updated ?? current);
  });
}
