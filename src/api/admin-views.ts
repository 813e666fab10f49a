/**
 * The admin API's wire shapes (snake_case, times in unix seconds, as OpenAI's API writes them)
 * and the request bodies it accepts, as zod schemas with no unknown fields allowed.
 */
import { z } from 'zod';
import { NimbusError } from '../core/errors.js';
import { limitNames, type ApiKeyRecord, type Limits, type Tenant } from '../core/tenancy-store.js';
import { limitRules } from '../tenancy/limit-plan.js';

const count = z.number().int().min(0).max(1e12);
/** US dollars; a budget between 0 and one nano-dollar (the smallest unit a cost is counted in) would round to nothing. */
const dollars = z
  .number()
  .min(0)
  .max(1e9)
  .refine((value) => value === 0 || value >= 1e-9, 'a cost limit is 0 or at least 0.000000001 (one nano-dollar, the smallest unit a cost is counted in)');

/** Limits as the API writes them; `null` in a change removes a limit. */
export const limitsBodySchema = z.strictObject({
  requests_per_minute: count.nullable().optional(),
  tokens_per_minute: count.nullable().optional(),
  concurrent_requests: count.nullable().optional(),
  tokens_per_day: count.nullable().optional(),
  tokens_per_month: count.nullable().optional(),
  cost_per_day_usd: dollars.nullable().optional(),
  cost_per_month_usd: dollars.nullable().optional(),
});

export type LimitsBody = z.infer<typeof limitsBodySchema>;

/** Tenant ids: what counter names, URLs and CSV files can hold without escaping. */
export const tenantIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit');
const label = z.string().trim().min(1).max(128);
const names = z.union([z.literal('*'), z.array(z.string().min(1).max(256)).max(1000)]);

export const createTenantSchema = z.strictObject({ id: tenantIdSchema, name: label.optional(), limits: limitsBodySchema.optional() });
/** `PATCH /v1/tenants/{id}` and `PATCH /v1/keys/{id}`: a new name, limits to change (`null` removes one), or both. */
export const updateNamedLimitsSchema = z.strictObject({ name: label.optional(), limits: limitsBodySchema.optional() });

export const createKeySchema = z.strictObject({
  /** The tenant that owns it; the caller's own when absent. */
  tenant: tenantIdSchema.optional(),
  name: label,
  scopes: z
    .strictObject({
      inference: z.boolean().optional(),
      admin: z.boolean().optional(),
      models: names.optional(),
      devices: names.optional(),
      apps: names.optional(),
      /** Devices whose approvals the key may list and decide (an approver key). */
      approvals: names.optional(),
    })
    .optional(),
  limits: limitsBodySchema.optional(),
  /** Unix seconds; must be in the future. */
  expires_at: z.number().int().positive().nullable().optional(),
});

/** A key's changes: its name and limits; scopes and expiry stay as created (a new key changes those). */
type NamedLimitsBody = z.infer<typeof updateNamedLimitsSchema>;

/** Such a body, refused with a 400 when it asks for no change (checked before the record is looked up). */
export function requireNamedLimitsChange(body: NamedLimitsBody): NamedLimitsBody {
  if (body.name === undefined && body.limits === undefined) throw new NimbusError('invalid_request', 'Nothing to change: send name and/or limits.');
  return body;
}

/** The change such a body asks of a tenant or key whose limits are `current`. */
export function namedLimitsChange(body: NamedLimitsBody, current: Limits): { name?: string; limits?: Limits } {
  return {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.limits !== undefined ? { limits: applyLimits(current, body.limits) } : {}),
  };
}

/** Applies a limits body to `current`: absent fields stay, `null` removes, numbers set. */
export function applyLimits(current: Limits, body: LimitsBody | undefined): Limits {
  const next: Limits = { ...current };
  if (!body) return next;
  for (const name of limitNames) {
    const value = body[limitRules[name].field as keyof LimitsBody];
    if (value === null) delete next[name];
    else if (value !== undefined) next[name] = value;
  }
  return next;
}

/** Limits as the API writes them. */
export function limitsView(limits: Limits): Record<string, number> {
  const view: Record<string, number> = {};
  for (const name of limitNames) {
    const value = limits[name];
    if (value !== undefined) view[limitRules[name].field] = value;
  }
  return view;
}

const seconds = (milliseconds: number): number => Math.floor(milliseconds / 1000);

export function tenantView(tenant: Tenant): object {
  return { object: 'tenant', id: tenant.id, name: tenant.name, limits: limitsView(tenant.limits), created_at: seconds(tenant.createdAt) };
}

/** A key as lists show it: never the key, never its hash. */
export function keyView(key: ApiKeyRecord, now: number): object {
  const status = key.revokedAt !== null ? 'revoked' : key.expiresAt !== null && key.expiresAt <= now ? 'expired' : 'active';
  return {
    object: 'api_key',
    id: key.id,
    tenant: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    status,
    scopes: key.scopes,
    limits: limitsView(key.limits),
    created_at: seconds(key.createdAt),
    expires_at: key.expiresAt === null ? null : seconds(key.expiresAt),
    revoked_at: key.revokedAt === null ? null : seconds(key.revokedAt),
  };
}
