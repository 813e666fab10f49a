/**
 * The API keys admin API: `POST /v1/keys` (the key is in this response and nowhere else, ever),
 * `GET /v1/keys`, `GET /v1/keys/{id}`, `PATCH /v1/keys/{id}` (name, limits; `null` removes a
 * limit), `DELETE /v1/keys/{id}` (revoke). A tenant's admin manages its own tenant's keys and may
 * not grant more than it holds (scopes, and limits no looser than its key's and its tenant's), nor
 * change its own key's limits; the operator manages all.
 */
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import type { Allowance, Principal, Scopes } from '../../core/principal.js';
import { limitNames, type ApiKeyRecord, type Limits } from '../../core/tenancy-store.js';
import { limitRules } from '../../tenancy/limit-plan.js';
import { generateApiKey } from '../../tenancy/api-key.js';
import { canSeeTenant, isOperator, requireAdmin, tenantInScope } from '../admin-access.js';
import { applyLimits, createKeySchema, keyView, namedLimitsChange, requireNamedLimitsChange, tenantIdSchema, updateNamedLimitsSchema } from '../admin-views.js';
import type { ServerContext } from '../server-context.js';

const notFound = (id: string): NimbusError =>
  new NimbusError('not_found', `No API key '${id}'. GET /v1/keys (or 'nimbus keys list') lists the keys you may see.`, { param: 'id' });

/** Whether `wanted` grants nothing beyond `held`. */
function within(wanted: Allowance, held: Allowance): boolean {
  if (held === '*') return true;
  return wanted !== '*' && wanted.every((name) => held.includes(name));
}

/** The new key's scopes: defaults (inference on every model, no devices, no admin) under what the caller holds. */
function grantedScopes(caller: Principal, requested: Partial<Scopes> | undefined): Scopes {
  const scopes: Scopes = { inference: true, admin: false, models: '*', devices: [], ...requested };
  if (isOperator(caller)) return scopes;
  const held = caller.scopes;
  const excess =
    (scopes.inference && !held.inference ? 'inference' : undefined) ??
    (!within(scopes.models, held.models) ? 'models' : undefined) ??
    (!within(scopes.devices, held.devices) ? 'devices' : undefined) ??
    // An app key mints app keys for its apps only.
    (held.apps !== undefined && (scopes.apps === undefined || !within(scopes.apps, held.apps)) ? 'apps' : undefined) ??
    // A tenant's admin decides every approval of its tenant, so it may make approvers; an approver, for its own devices only.
    (scopes.approvals !== undefined && !held.admin && !within(scopes.approvals, held.approvals ?? []) ? 'approvals' : undefined);
  if (excess)
    throw new NimbusError('permission_denied', `A key may not grant more than the key creating it holds: scopes.${excess} goes beyond yours.`, {
      param: `scopes.${excess}`,
    });
  return scopes;
}

/**
 * Checks a tenant admin's key limits (the operator may set any): no limit looser than the
 * tenant's own (it would never apply, and reads as if it did), and none looser than the limits of
 * the key making the change, which would otherwise mint a key to escape its own limits.
 */
async function limitsWithinCaller(context: ServerContext, caller: Principal, tenantId: string, limits: Limits): Promise<void> {
  if (isOperator(caller)) return;
  const tenant = await context.store.tenancy.getTenant(tenantId);
  const own = caller.keyId ? await context.store.tenancy.getApiKey(caller.keyId) : undefined;
  for (const name of limitNames) {
    const field = limitRules[name].field;
    const value = limits[name];
    const tenantLimit = tenant?.limits[name];
    if (value !== undefined && tenantLimit !== undefined && value > tenantLimit) {
      throw new NimbusError(
        'permission_denied',
        `limits.${field} (${value}) is above tenant '${tenantId}''s own (${tenantLimit}); a key's limit may not exceed its tenant's.`,
        {
          param: `limits.${field}`,
        },
      );
    }
    const ownLimit = own?.limits[name];
    if (ownLimit !== undefined && (value === undefined || value > ownLimit)) {
      throw new NimbusError(
        'permission_denied',
        `A key may not have looser limits than the key creating or changing it: set limits.${field} to at most ${ownLimit} (your key's), or ask the operator.`,
        { param: `limits.${field}` },
      );
    }
  }
}

export function registerKeyRoutes(app: FastifyInstance, context: ServerContext): void {
  const store = context.store.tenancy;

  app.post('/v1/keys', async (request, reply) => {
    requireAdmin(request.principal);
    const body = parseRequest(createKeySchema, request.body);
    const tenantId = tenantInScope(request.principal, body.tenant) ?? request.principal.tenantId;
    if (!(await store.getTenant(tenantId))) {
      throw new NimbusError('not_found', `No tenant '${tenantId}'. Create it first (POST /v1/tenants, or 'nimbus tenants create ${tenantId}').`, {
        param: 'tenant',
      });
    }
    const now = Date.now();
    if (body.expires_at != null && body.expires_at * 1000 <= now) {
      throw new NimbusError('invalid_value', "Invalid value for 'expires_at': it is in the past; give unix seconds in the future.", { param: 'expires_at' });
    }
    const limits = applyLimits({}, body.limits);
    await limitsWithinCaller(context, request.principal, tenantId, limits);
    const generated = generateApiKey();
    const record: ApiKeyRecord = {
      id: newId('key_', 20),
      tenantId,
      name: body.name,
      prefix: generated.prefix,
      hash: generated.hash,
      scopes: grantedScopes(request.principal, body.scopes),
      limits,
      createdAt: now,
      expiresAt: body.expires_at != null ? body.expires_at * 1000 : null,
      revokedAt: null,
    };
    const first = (await store.countApiKeys()) === 0;
    await store.createApiKey(record);
    await context.gate.changed({ keyId: record.id });
    if (first) context.logger.warn(`first API key created (${record.id}): from now on every request needs a key`);
    return reply.code(201).send({ ...keyView(record, now), key: generated.key });
  });

  app.get('/v1/keys', async (request) => {
    requireAdmin(request.principal);
    const { tenant, ...rest } = request.query as Record<string, string | undefined>;
    const unknown = Object.keys(rest)[0];
    if (unknown) throw new NimbusError('unsupported_parameter', `Unknown query parameter '${unknown}'; GET /v1/keys takes only 'tenant'.`, { param: unknown });
    if (tenant !== undefined && !tenantIdSchema.safeParse(tenant).success) {
      throw new NimbusError('invalid_value', `Invalid value for 'tenant': '${tenant}' is not a tenant id.`, { param: 'tenant' });
    }
    const keys = await store.listApiKeys(tenantInScope(request.principal, tenant));
    const now = Date.now();
    return { object: 'list', data: keys.map((key) => keyView(key, now)) };
  });

  app.get<{ Params: { id: string } }>('/v1/keys/:id', async (request) => {
    requireAdmin(request.principal);
    const key = await store.getApiKey(request.params.id);
    if (!key || !canSeeTenant(request.principal, key.tenantId)) throw notFound(request.params.id);
    return keyView(key, Date.now());
  });

  app.patch<{ Params: { id: string } }>('/v1/keys/:id', async (request) => {
    requireAdmin(request.principal);
    const body = requireNamedLimitsChange(parseRequest(updateNamedLimitsSchema, request.body ?? {}));
    const key = await store.getApiKey(request.params.id);
    if (!key || !canSeeTenant(request.principal, key.tenantId)) throw notFound(request.params.id);
    const change = namedLimitsChange(body, key.limits);
    if (change.limits && !isOperator(request.principal)) {
      if (key.id === request.principal.keyId) {
        throw new NimbusError('permission_denied', "A key may not change its own limits; ask the operator (an admin key of the 'default' tenant).", {
          param: 'limits',
        });
      }
      await limitsWithinCaller(context, request.principal, key.tenantId, change.limits);
    }
    const updated = await store.updateApiKey(key.id, change);
    // The resolver drops its cached copy: the next request of this key meets the new limits, and a budget they add starts from the ledger.
    await context.gate.changed({
      keyId: key.id,
      ...(change.limits ? { limits: { tenantId: key.tenantId, owner: { scope: 'key', id: key.id }, before: key.limits, after: change.limits } } : {}),
    });
    return keyView(updated ?? key, Date.now());
  });

  app.delete<{ Params: { id: string } }>('/v1/keys/:id', async (request) => {
    requireAdmin(request.principal);
    const key = await store.getApiKey(request.params.id);
    if (!key || !canSeeTenant(request.principal, key.tenantId)) throw notFound(request.params.id);
    const revoked = (await store.revokeApiKey(key.id, Date.now())) ?? key;
    await context.gate.changed({ keyId: key.id });
    return keyView(revoked, Date.now());
  });
}
