/**
 * The tenancy section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * JSON as text, timestamps as bigint (read back with Number()), sums read back with Number()
 * (PostgreSQL returns bigint and numeric sums as strings).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Scopes } from '../core/principal.js';
import type { ApiKeyRecord, Limits, TenancyStore, Tenant, UsageDimension, UsageQuery, UsageRow } from '../core/tenancy-store.js';
import type { Database } from './schema.js';
import type { ApiKeysTable, TenantsTable } from './tenancy-schema.js';

const dayMs = 86_400_000;
/** Ledger columns (or expressions) per usage dimension; the day is an integer division, the same in both dialects. */
const dimensionColumns: Record<UsageDimension, string> = {
  tenant: 'tenant_id',
  model: 'model',
  key: 'key_id',
  day: `created_at / ${dayMs}`,
  device_class: 'device_class',
  status: 'status',
};

export class KyselyTenancyStore implements TenancyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createTenant(tenant: Tenant): Promise<boolean> {
    const result = await this.db
      .insertInto('tenants')
      .values({ id: tenant.id, name: tenant.name, limits: JSON.stringify(tenant.limits), created_at: tenant.createdAt })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTenant(row);
  }

  async listTenants(): Promise<Tenant[]> {
    return (await this.db.selectFrom('tenants').selectAll().orderBy('id').execute()).map(toTenant);
  }

  async updateTenant(id: string, patch: { name?: string; limits?: Limits }): Promise<Tenant | undefined> {
    const values = nameAndLimitsColumns(patch);
    if (Object.keys(values).length > 0) await this.db.updateTable('tenants').set(values).where('id', '=', id).execute();
    return this.getTenant(id);
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: key.id,
        tenant_id: key.tenantId,
        name: key.name,
        prefix: key.prefix,
        hash: key.hash,
        scopes: JSON.stringify(key.scopes),
        limits: JSON.stringify(key.limits),
        created_at: key.createdAt,
        expires_at: key.expiresAt,
        revoked_at: key.revokedAt,
      })
      .execute();
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toApiKey(row);
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row && toApiKey(row);
  }

  async listApiKeys(tenantId?: string): Promise<ApiKeyRecord[]> {
    let select = this.db.selectFrom('api_keys').selectAll();
    if (tenantId !== undefined) select = select.where('tenant_id', '=', tenantId);
    return (await select.orderBy('created_at').orderBy('id').execute()).map(toApiKey);
  }

  async updateApiKey(id: string, patch: { name?: string; limits?: Limits }): Promise<ApiKeyRecord | undefined> {
    const values = nameAndLimitsColumns(patch);
    if (Object.keys(values).length > 0) await this.db.updateTable('api_keys').set(values).where('id', '=', id).execute();
    return this.getApiKey(id);
  }

  async revokeApiKey(id: string, at: number): Promise<ApiKeyRecord | undefined> {
    await this.db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    return this.getApiKey(id);
  }

  async countApiKeys(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async usage(query: UsageQuery): Promise<UsageRow[]> {
    const dimensions = [...new Set(query.groupBy)];
    let select = this.db
      .selectFrom('request_log')
      .where('created_at', '>=', query.since)
      .where('created_at', '<', query.until)
      .select((eb) => [
        eb.fn.countAll().as('requests'),
        eb.fn.sum('prompt_tokens').as('prompt_tokens'),
        eb.fn.sum('cached_tokens').as('cached_tokens'),
        eb.fn.sum('completion_tokens').as('completion_tokens'),
        eb.fn.sum('compute_seconds').as('compute_seconds'),
        eb.fn.sum('cost_nano_usd').as('cost_nano_usd'),
      ]);
    if (query.tenantId !== undefined) select = select.where('tenant_id', '=', query.tenantId);
    if (query.keyId !== undefined) select = select.where('key_id', '=', query.keyId);
    for (const dimension of dimensions) {
      // Literal SQL (never user input: the dimension names are checked), identical in select and group by, as PostgreSQL requires.
      const expression = sql.raw<string | number | null>(dimensionColumns[dimension]);
      select = select
        .select(expression.as(`g_${dimension}`))
        .groupBy(expression)
        .orderBy(expression);
    }
    const rows = (await select.execute()) as Array<Record<string, string | number | null>>;
    return rows.map((row) => toUsageRow(row, dimensions));
  }
}

function toUsageRow(row: Record<string, string | number | null>, dimensions: UsageDimension[]): UsageRow {
  const usage: UsageRow = {
    requests: Number(row.requests ?? 0),
    promptTokens: Number(row.prompt_tokens ?? 0),
    cachedTokens: Number(row.cached_tokens ?? 0),
    completionTokens: Number(row.completion_tokens ?? 0),
    computeSeconds: Number(row.compute_seconds ?? 0),
    costNanoUsd: Number(row.cost_nano_usd ?? 0),
  };
  for (const dimension of dimensions) {
    const value = row[`g_${dimension}`] ?? null;
    switch (dimension) {
      case 'tenant':
        usage.tenantId = String(value);
        break;
      case 'model':
        usage.model = String(value);
        break;
      case 'key':
        usage.keyId = value === null ? null : String(value);
        break;
      case 'day':
        usage.day = new Date(Number(value) * dayMs).toISOString().slice(0, 10);
        break;
      case 'device_class':
        usage.deviceClass = value === null ? null : String(value);
        break;
      case 'status':
        usage.status = String(value);
        break;
    }
  }
  return usage;
}

/** The columns a `{ name?, limits? }` patch sets; tenants and keys store both the same way. */
function nameAndLimitsColumns(patch: { name?: string; limits?: Limits }): { name?: string; limits?: string } {
  return {
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.limits !== undefined ? { limits: JSON.stringify(patch.limits) } : {}),
  };
}

function toTenant(row: Selectable<TenantsTable>): Tenant {
  return { id: row.id, name: row.name, limits: JSON.parse(row.limits) as Limits, createdAt: Number(row.created_at) };
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as Scopes,
    limits: JSON.parse(row.limits) as Limits,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}
