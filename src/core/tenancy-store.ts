/**
 * The tenancy section of the Store contract: tenants, their API keys (hashes only), and sums
 * over the usage ledger (the request log's rows, each with its tenant, key and cost). The logic
 * (key format, limits, admission, prices) lives in src/tenancy/; these are only the records.
 */
import type { Scopes } from './principal.js';

/**
 * Limits on a key or on a tenant; an absent field is no limit. A request must fit every limit
 * of its key and of its tenant. Windows are calendar windows in UTC (a minute, a day, a month).
 */
export interface Limits {
  /** Requests admitted per calendar minute. */
  requestsPerMinute?: number;
  /** Tokens (prompt plus completion) per calendar minute; admission reserves prompt + max tokens. */
  tokensPerMinute?: number;
  /** Requests running at once. */
  concurrentRequests?: number;
  tokensPerDay?: number;
  tokensPerMonth?: number;
  /** US dollars per UTC day, at the price table's rates. */
  costPerDayUsd?: number;
  costPerMonthUsd?: number;
}

/** Every limit name, in the order admission checks them. */
export const limitNames = [
  'requestsPerMinute',
  'tokensPerMinute',
  'concurrentRequests',
  'tokensPerDay',
  'tokensPerMonth',
  'costPerDayUsd',
  'costPerMonthUsd',
] as const satisfies ReadonlyArray<keyof Limits>;

/** A customer of the cloud: owns keys, is billed, has limits of its own. */
export interface Tenant {
  /** Lower-case letters, digits, `-` and `_`; `default` exists from the start. */
  id: string;
  name: string;
  limits: Limits;
  /** Unix milliseconds. */
  createdAt: number;
}

/** An API key as stored: never the key itself, only its hash. */
export interface ApiKeyRecord {
  /** `key_...`: what lists, logs and the ledger name it by. */
  id: string;
  tenantId: string;
  /** A label its owner chose (`ci`, `alice laptop`). */
  name: string;
  /** The key's first characters (`nmb_AbCd1234`), so a person can tell keys apart. */
  prefix: string;
  /** sha256 of the whole key, hex. Never sent to a client or written to a log. */
  hash: string;
  scopes: Scopes;
  limits: Limits;
  createdAt: number;
  /** Unix milliseconds after which the key is refused; null: never. */
  expiresAt: number | null;
  /** When it was revoked; null while it is valid. */
  revokedAt: number | null;
}

/** What `GET /v1/usage` can group the ledger by. */
export type UsageDimension = 'tenant' | 'model' | 'key' | 'day' | 'hour' | 'device_class' | 'status' | 'app' | 'app_version';

/** A range of the ledger, filtered and grouped. */
export interface UsageQuery {
  /** Unix milliseconds, inclusive. */
  since: number;
  /** Unix milliseconds, exclusive. */
  until: number;
  tenantId?: string;
  keyId?: string;
  /** One app's calls (its budget is seeded from them). */
  appId?: string;
  groupBy: readonly UsageDimension[];
}

/** One group of ledger rows and their sums. Dimension fields are present when grouped by them. */
export interface UsageRow {
  tenantId?: string;
  model?: string;
  keyId?: string | null;
  /** UTC day, `YYYY-MM-DD`. */
  day?: string;
  /** UTC hour, `YYYY-MM-DDTHH:00Z`. */
  hour?: string;
  deviceClass?: string | null;
  /** `ok`, `error`, `cancelled` or `refused` (the request log's status). */
  status?: string;
  /** The app and its version (null outside apps). */
  app?: string | null;
  appVersion?: string | null;
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  computeSeconds: number;
  /** Cost in billionths of a US dollar: integers, so sums are exact. */
  costNanoUsd: number;
}

/** Persistence of tenants and keys, and reads of the ledger. Every method is async. */
export interface TenancyStore {
  /** Creates a tenant; false when its id is taken. */
  createTenant(tenant: Tenant): Promise<boolean>;
  getTenant(id: string): Promise<Tenant | undefined>;
  /** Every tenant, by id. */
  listTenants(): Promise<Tenant[]>;
  /** Changes a tenant's name or limits; undefined when it does not exist. */
  updateTenant(id: string, patch: { name?: string; limits?: Limits }): Promise<Tenant | undefined>;
  /** Stores a new key (its hash must be unique). */
  createApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** The key with this hash, revoked and expired ones included (the caller decides). */
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Keys of one tenant, or of all, oldest first. */
  listApiKeys(tenantId?: string): Promise<ApiKeyRecord[]>;
  /** Changes a key's name or limits (replaced whole); undefined when it does not exist. */
  updateApiKey(id: string, patch: { name?: string; limits?: Limits }): Promise<ApiKeyRecord | undefined>;
  /** Revokes a key at `at` (a second revocation keeps the first time); undefined when unknown. */
  revokeApiKey(id: string, at: number): Promise<ApiKeyRecord | undefined>;
  /** This installation's id (made with its database, kept for good): several installations sharing a Redis keep their counters apart under it. */
  installationId(): Promise<string>;
  /** Keys ever created, revoked ones included: once there is one, the server leaves local mode for good. */
  countApiKeys(): Promise<number>;
  /** Sums of the ledger (flushed rows) over a range, grouped; groups in dimension order. */
  usage(query: UsageQuery): Promise<UsageRow[]>;
}
