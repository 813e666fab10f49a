/** Table types of the batch section (migration 0037), for Kysely; JSON columns hold text. */

export interface BatchesTable {
  id: string;
  tenant_id: string;
  key_id: string | null;
  /** JSON: the creator's Principal. */
  principal: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  /** JSON array of BatchError, or null. */
  errors: string | null;
  /** JSON object of strings, or null. */
  metadata: string | null;
  total: number;
  completed: number;
  failed: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  enqueued_tokens: number;
  owner: string | null;
  lease_until: number | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
}

export interface BatchResultsTable {
  batch_id: string;
  line_index: number;
  custom_id: string;
  request_id: string;
  ok: number;
  line: string;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
}

export interface BatchTables {
  batches: BatchesTable;
  batch_results: BatchResultsTable;
}
