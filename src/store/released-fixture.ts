/**
 * One row in every table, written with the SQL of the last release's schema: what an upgrade
 * test puts in a database made by that release before it opens it with today's code. Written by
 * hand, not through the store, so that today's code cannot shape the old rows. When a release
 * adds a table, add its row here in the same change as `releasedMigrations`.
 */
import { sql, type Kysely } from 'kysely';

/** The tables the release holds and the rows `seedReleasedDatabase` writes into each. */
export const releasedTableRows: Readonly<Record<string, number>> = {
  request_log: 1,
  tenants: 2,
  api_keys: 1,
  devices: 1,
  device_twins: 1,
  device_history: 1,
  device_commands: 1,
  device_approvals: 1,
  device_estops: 1,
  audit_log: 1,
  pool_join_tokens: 1,
  pool_workers: 1,
  pool_deployments: 1,
  pool_replicas: 1,
  usage_rollups: 1,
  knowledge_files: 1,
  knowledge_vector_stores: 1,
  knowledge_store_files: 1,
  knowledge_file_batches: 1,
  knowledge_chunks: 1,
  device_taints: 1,
  device_steps: 1,
  device_idempotency: 1,
  installation: 1,
  responses: 1,
  response_input_items: 1,
  pool_leases: 1,
  batches: 1,
  batch_results: 1,
  apps: 1,
  app_versions: 1,
  app_memories: 1,
  pool_demand: 1,
  live_event_bodies: 1,
  alerts: 1,
};

/** Writes the rows `releasedTableRows` counts (the `default` tenant is the migration's own). */
export async function seedReleasedDatabase(db: Kysely<unknown>): Promise<void> {
  const statements = [
    sql`insert into request_log (id, created_at, kind, model, http_status, status, prompt_tokens, completion_tokens, duration_ms, route, usage_estimated, tenant_id, key_id, device_class, compute_seconds, cost_nano_usd, requested_model, parent_id, app_id, app_version, batch_id)
      values ('req_old', 1000, 'chat', 'm', 200, 'ok', 3, 4, 5, 'local', 0, 'acme', 'key_old', 'cpu', 0.5, 1234, 'm', null, null, null, null)`,
    sql`insert into usage_rollups (hour, tenant_id, key_id, model, device_class, status, app_id, app_version, requests, prompt_tokens, cached_tokens, completion_tokens, compute_seconds, cost_nano_usd)
      values (0, 'acme', 'key_old', 'm', 'cpu', 'ok', '', '', 1, 3, 0, 4, 0.5, 1234)`,
    sql`insert into tenants (id, name, limits, created_at) values ('acme', 'Acme', '{"rpm":60}', 1000)`,
    sql`insert into api_keys (id, tenant_id, name, prefix, hash, scopes, limits, created_at) values ('key_old', 'acme', 'ci', 'nmb_abcd', 'hash-old', '["inference"]', '{}', 1000)`,
    sql`insert into devices (tenant_id, id, model, secret_hash, created_at, updated_at) values ('acme', 'lamp-1', '{"title":"Lamp"}', 'secret-hash', 1000, 1000)`,
    sql`insert into device_twins (tenant_id, device_id, desired, reported, version, connection, reported_at, updated_at) values ('acme', 'lamp-1', '{}', '{"on":true}', 3, 'online', 1000, 1000)`,
    sql`insert into device_history (tenant_id, device_id, version, at, kind, data, ordinal) values ('acme', 'lamp-1', 3, 1000, 'reported', '{"on":true}', 0)`,
    sql`insert into device_commands (id, tenant_id, device_id, kind, name, input, hash, state, created_at, updated_at, deadline) values ('cmd_old', 'acme', 'lamp-1', 'property', 'on', 'true', 'h', 'acked', 1000, 1000, 2000)`,
    sql`insert into device_approvals (id, tenant_id, command_hash, device_id, kind, name, input, risk, reason, status, requested_at, expires_at) values ('apr_old', 'acme', 'h', 'lamp-1', 'action', 'unlock', '{}', 'high', 'risky', 'pending', 1000, 2000)`,
    sql`insert into device_estops (tenant_id, active, reason, changed_by, changed_at) values ('acme', 0, 'cleared', 'key_old', 1000)`,
    sql`insert into audit_log (id, at, tenant_id, event, actor, source, detail, prev_hash, hash) values ('aud_old', 1000, 'acme', 'command', 'key_old', 'rest', '{}', '', 'hash-1')`,
    sql`insert into pool_join_tokens (id, hash, created_at) values ('jt_old', 'join-hash', 1000)`,
    sql`insert into pool_workers (name, credential_hash, inference_secret, endpoint, hardware, load, joined_at, last_heartbeat_at) values ('w1', 'cred-hash', 's', 'http://127.0.0.1:1', '{}', '{}', 1000, 1000)`,
    sql`insert into pool_deployments (name, source, replicas, device, context_size, slots, routing, created_at, updated_at, autoscale) values ('old', '/m.gguf', 2, 'cpu', 256, 1, 'round-robin', 1000, 1000, null)`,
    sql`insert into knowledge_files (id, tenant_id, filename, purpose, bytes, sha256, created_at, expires_at) values ('file-old', 'acme', 'notes.txt', 'assistants', 5, 'sha-old', 1000, null)`,
    sql`insert into knowledge_vector_stores (id, tenant_id, name, description, metadata, created_at, last_active_at, expires_after_days, chunk_count, term_count) values ('vs_old', 'acme', 'Notes', null, '{}', 1000, 1000, null, 1, 1)`,
    sql`insert into knowledge_store_files (vector_store_id, file_id, tenant_id, key_id, batch_id, status, last_error, attributes, chunking, usage_bytes, created_at, updated_at) values ('vs_old', 'file-old', 'acme', 'key_old', 'vsfb_old', 'completed', null, '{}', '{"type":"auto"}', 5, 1000, 1000)`,
    sql`insert into knowledge_file_batches (id, vector_store_id, tenant_id, created_at) values ('vsfb_old', 'vs_old', 'acme', 1000)`,
    sql`insert into knowledge_chunks (vector_store_id, file_id, chunk_index, text, tokens, term_count, term_counts, embedding) values ('vs_old', 'file-old', 0, 'notes', 1, 1, '{"note":1}', null)`,
    sql`insert into device_taints (tenant_id, subject, until, reason, set_at) values ('acme', 'key:key_old', 2000, 'untrusted text', 1000)`,
    sql`insert into device_steps (tenant_id, kind, key_subject, conversation, device_id, at) values ('acme', 'actuation', 'key:key_old', null, 'lamp-1', 1000)`,
    sql`insert into device_idempotency (tenant_id, key_subject, idempotency_key, request_hash, state, status, body, created_at, expires_at) values ('acme', 'key:key_old', 'idem-1', 'h', 'done', 200, '{}', 1000, 2000)`,
    sql`insert into responses (id, tenant_id, key_id, created_at, expires_at, status, previous_response_id, body, bytes) values ('resp_old', 'acme', 'key_old', 1000, 2000, 'completed', null, '{"id":"resp_old","object":"response"}', 37)`,
    sql`insert into response_input_items (response_id, tenant_id, position, item_id, item) values ('resp_old', 'acme', 0, 'msg_old', '{"type":"message","role":"user","content":"hi"}')`,
    sql`insert into pool_leases (name, holder, generation, expires_at) values ('pool', 'cp-old', 3, 2000)`,
    sql`insert into batches (id, tenant_id, key_id, principal, endpoint, input_file_id, completion_window, status, total, completed, failed, created_at, expires_at) values ('batch_old', 'acme', 'key_old', '{"tenantId":"acme"}', '/v1/chat/completions', 'file-old', '24h', 'in_progress', 2, 1, 0, 1000, 2000)`,
    sql`insert into batch_results (batch_id, line_index, custom_id, request_id, ok, line, input_tokens, cached_tokens, output_tokens) values ('batch_old', 0, 'c-0', 'req_old', 1, '{"custom_id":"c-0"}', 3, 0, 4)`,
    sql`insert into pool_replicas (id, deployment, worker, state, created_at, updated_at) values ('rep_old', 'old', 'w1', 'ready', 1000, 1000)`,
    sql`insert into apps (tenant_id, name, live_version, latest_version, created_at, updated_at) values ('acme', 'tutor', 1, 1, 1000, 1000)`,
    sql`insert into app_versions (tenant_id, app, version, config, created_at) values ('acme', 'tutor', 1, '{"model":"m"}', 1000)`,
    sql`insert into app_memories (tenant_id, app, end_user, turns, updated_at) values ('acme', 'tutor', 'student-1', '[]', 1000)`,
    sql`insert into pool_demand (control_plane, deployment, held, in_flight, reported_at) values ('cp-old', 'old', 0, 1, 1000)`,
    sql`insert into live_event_bodies (id, body, created_at) values ('ev_old', '{}', 1000)`,
    sql`insert into alerts (key, kind, subject, tenant_id, state, message, link, first_seen_at, last_seen_at, resolved_at, fired) values ('worker_lost:w1', 'worker_lost', 'w1', null, 'firing', 'Worker w1 is lost.', '/workers', 1000, 1000, null, 1)`,
  ];
  for (const statement of statements) await statement.execute(db);
}
