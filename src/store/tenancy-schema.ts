/** Table types of the tenancy section (migration 0003), for Kysely; JSON columns hold text. */

export interface TenantsTable {
  id: string;
  name: string;
  /** `Limits` as JSON. */
  limits: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  /** sha256 of the key, hex; unique. */
  hash: string;
  /** `Scopes` as JSON. */
  scopes: string;
  /** `Limits` as JSON. */
  limits: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/** One row (migration 0027): the installation's id, which namespaces its limit counters in a shared Redis. */
export interface InstallationTable {
  id: string;
  created_at: number;
}

/** The tenancy tables; the ledger's columns are part of `request_log` (schema.ts). */
export interface TenancyTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  installation: InstallationTable;
}
