/** Table types for Kysely: the database as the query layer sees it, for SQLite and PostgreSQL alike. */
import type { Generated } from 'kysely';

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
  seq: Generated<number>;
}

export interface Database {
  request_log: RequestLogTable;
}
