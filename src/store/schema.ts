/** Table types for Kysely: the database as the query layer sees it, for SQLite and PostgreSQL alike. */
import type { Generated } from 'kysely';
import type { AlertTables } from './alert-schema.js';
import type { AppTables } from './app-schema.js';
import type { BatchTables } from './batch-schema.js';
import type { DeviceTables } from './device-schema.js';
import type { KnowledgeTables } from './knowledge-schema.js';
import type { PoolTables } from './pool-schema.js';
import type { ResponseTables } from './response-schema.js';
import type { TenancyTables } from './tenancy-schema.js';

export interface RequestLogTable {
  id: string;
  created_at: number;
  kind: string;
  model: string;
  http_status: number;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  ttft_ms: number | null;
  duration_ms: number;
  finish_reason: string | null;
  stream: number;
  error_code: string | null;
  served_by: string | null;
  route: string | null;
  usage_estimated: number;
  tenant_id: string;
  key_id: string | null;
  deployment: string | null;
  worker: string | null;
  device_class: string | null;
  compute_seconds: number;
  cost_nano_usd: number;
  requested_model: string | null;
  parent_id: string | null;
  app_id: string | null;
  app_version: string | null;
  batch_id: string | null;
  seq: Generated<number>;
}

/** The ledger's hourly sums (usage-rollups.ts); null dimensions are ''. */
export interface UsageRollupsTable {
  hour: number;
  tenant_id: string;
  key_id: string;
  model: string;
  device_class: string;
  status: string;
  app_id: string;
  app_version: string;
  requests: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  compute_seconds: number;
  cost_nano_usd: number;
}

export interface Database extends DeviceTables, TenancyTables, PoolTables, KnowledgeTables, ResponseTables, BatchTables, AppTables, AlertTables {
  request_log: RequestLogTable;
  usage_rollups: UsageRollupsTable;
}
