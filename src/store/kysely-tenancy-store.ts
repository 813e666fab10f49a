/**
 * The tenancy section of the Store contract over Kysely, portable across SQLite and PostgreSQL:
 * JSON as text, timestamps as bigint (read back with Number()), sums read back with Number()
 * (PostgreSQL returns bigint and numeric sums as strings).
 */
import { sql, type CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { Scopes } from '../core/principal.js';
import type { ApiKeyRecord, Limits, TenancyStore, Tenant, UsageDimension, UsageQuery, UsageRow } from '../core/tenancy-store.js';
import type { Database } from './schema.js';
import type { ApiKeysTable, TenantsTable } from './tenancy-schema.js';
import { hourMs } from './usage-rollups.js';

const dayMs = 86_400_000;
/** Ledger columns (or expressions) per usage dimension; the day is an integer division, the same in both dialects. */
const dimensionColumns: Record<UsageDimension, string> = {
  tenant: 'tenant_id',
  model: 'model',
  key: 'key_id',
  day: `created_at / ${dayMs}`,
  hour: `created_at / ${hourMs}`,
  device_class: 'device_class',
  status: 'status',
  app: 'app_id',
  app_version: 'app_version',
};

export class KyselyTenancyStore implements TenancyStore {
  /**
   * Raw ledger rows before this time (unix ms) were pruned (`KyselyStore.pruneLedger`): usage
   * over it is answered by whole hours from the rollups.
   */
  retainedSince = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Kysely<Database>,
    /** Runs a compiled ledger read: on the ledger thread where the store has one. */
    private readonly reader: (compiled: CompiledQuery) => Promise<Array<Record<string, unknown>>> = async (compiled) =>
      (await db.executeQuery(compiled)).rows as Array<Record<string, unknown>>,
  ) {}

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

  async installationId(): Promise<string> {
    return (await this.db.selectFrom('installation').select('id').executeTakeFirstOrThrow()).id;
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
    // Whole hours come from the rollups; the partial hours at either end (or a range within one
    // hour) from the raw rows. Where raw rows were pruned (before `retainedSince`), an end is
    // widened to its whole hour instead.
    let firstHour = Math.ceil(query.since / hourMs) * hourMs;
    let lastHour = Math.floor(query.until / hourMs) * hourMs;
    if (query.since < this.retainedSince) firstHour = Math.floor(query.since / hourMs) * hourMs;
    if (query.until <= this.retainedSince) lastHour = Math.ceil(query.until / hourMs) * hourMs;
    const parts: Array<Promise<Array<Record<string, unknown>>>> = [];
    if (firstHour < lastHour) {
      parts.push(this.read(this.sums('usage_rollups', 'hour', firstHour, lastHour, query, dimensions)));
      if (query.since < firstHour) parts.push(this.read(this.sums('request_log', 'created_at', query.since, firstHour, query, dimensions)));
      if (lastHour < query.until) parts.push(this.read(this.sums('request_log', 'created_at', lastHour, query.until, query, dimensions)));
    } else {
      parts.push(this.read(this.sums('request_log', 'created_at', query.since, query.until, query, dimensions)));
    }
    return mergeUsage((await Promise.all(parts)).flat(), dimensions);
  }

  /** Runs a compiled read where the store runs them (off the request thread where it can). */
  private read(compiled: CompiledQuery): Promise<Array<Record<string, unknown>>> {
    return this.reader(compiled);
  }

  /**
   * Sums of `table` over [from, to) of its time column, filtered and grouped as `query` asks,
   * compiled. Literal SQL for the columns (never user input: the dimension names are checked, and
   * the same expressions in select and group by, as PostgreSQL requires); the values are parameters.
   */
  private sums(
    table: 'request_log' | 'usage_rollups',
    time: 'created_at' | 'hour',
    from: number,
    to: number,
    query: UsageQuery,
    dimensions: readonly UsageDimension[],
  ): CompiledQuery {
    const columns = table === 'usage_rollups' ? rollupDimensionColumns : dimensionColumns;
    const requests = table === 'usage_rollups' ? 'sum(requests)' : 'count(*)';
    const selected = [
      `${requests} as requests, sum(prompt_tokens) as prompt_tokens, sum(cached_tokens) as cached_tokens, sum(completion_tokens) as completion_tokens, sum(compute_seconds) as compute_seconds, sum(cost_nano_usd) as cost_nano_usd`,
      ...dimensions.map((dimension) => `${columns[dimension]} as g_${dimension}`),
    ];
    const filters = [sql`${sql.ref(time)} >= ${from}`, sql`${sql.ref(time)} < ${to}`];
    if (query.tenantId !== undefined) filters.push(sql`tenant_id = ${query.tenantId}`);
    if (query.keyId !== undefined) filters.push(sql`key_id = ${query.keyId}`);
    if (query.appId !== undefined) filters.push(sql`app_id = ${query.appId}`);
    const grouped = dimensions.length > 0 ? sql` group by ${sql.raw(dimensions.map((dimension) => columns[dimension]).join(', '))}` : sql``;
    return sql`select ${sql.raw(selected.join(', '))} from ${sql.table(table)} where ${sql.join(filters, sql` and `)}${grouped}`.compile(this.db);
  }
}

/** The rollups' expression per usage dimension: nulls are stored as '' there, and a day is a whole number of hours. */
const rollupDimensionColumns: Record<UsageDimension, string> = {
  tenant: 'tenant_id',
  model: 'model',
  key: "nullif(key_id, '')",
  day: `hour / ${dayMs}`,
  hour: `hour / ${hourMs}`,
  device_class: "nullif(device_class, '')",
  status: 'status',
  app: "nullif(app_id, '')",
  app_version: "nullif(app_version, '')",
};

/**
 * Groups from several reads (rollups and the raw rows at either end) added together, in the order
 * of their dimension values (nulls first). With no dimension there is one group, even an empty one.
 */
function mergeUsage(rows: ReadonlyArray<Record<string, unknown>>, dimensions: readonly UsageDimension[]): UsageRow[] {
  const groups = new Map<string, { values: Array<string | number | null>; sums: number[] }>();
  for (const row of rows) {
    // An aggregate over no rows (no group by) is one row of nulls: it adds nothing.
    if (dimensions.length === 0 && Number(row.requests ?? 0) === 0) continue;
    const values = dimensions.map((dimension) => (row[`g_${dimension}`] ?? null) as string | number | null);
    const key = JSON.stringify(values);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { values, sums: [0, 0, 0, 0, 0, 0] }));
    sumColumns.forEach((column, index) => (group.sums[index]! += Number(row[column] ?? 0)));
  }
  if (dimensions.length === 0 && groups.size === 0) groups.set('[]', { values: [], sums: [0, 0, 0, 0, 0, 0] });
  const sorted = [...groups.values()].sort((a, b) => {
    for (let index = 0; index < dimensions.length; index += 1) {
      const order = compareValues(a.values[index] ?? null, b.values[index] ?? null);
      if (order !== 0) return order;
    }
    return 0;
  });
  return sorted.map(({ values, sums }) =>
    toUsageRow(
      Object.fromEntries([
        ...sumColumns.map((column, index) => [column, sums[index]!]),
        ...dimensions.map((dimension, index) => [`g_${dimension}`, values[index]]),
      ]),
      dimensions,
    ),
  );
}

const sumColumns = ['requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'compute_seconds', 'cost_nano_usd'] as const;

function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1;
}

function toUsageRow(row: Record<string, unknown>, dimensions: readonly UsageDimension[]): UsageRow {
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
      case 'hour':
        usage.hour = `${new Date(Number(value) * hourMs).toISOString().slice(0, 13)}:00Z`;
        break;
      case 'device_class':
        usage.deviceClass = value === null ? null : String(value);
        break;
      case 'status':
        usage.status = String(value);
        break;
      case 'app':
        usage.app = value === null ? null : String(value);
        break;
      case 'app_version':
        usage.appVersion = value === null ? null : String(value);
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
