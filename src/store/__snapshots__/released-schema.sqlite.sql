-- index alerts_state_last_seen
CREATE INDEX "alerts_state_last_seen" on "alerts" ("state", "last_seen_at")

-- index api_keys_tenant_id
CREATE INDEX "api_keys_tenant_id" on "api_keys" ("tenant_id")

-- index audit_log_device
CREATE INDEX "audit_log_device" on "audit_log" ("tenant_id", "device_id", "seq")

-- index audit_log_link
CREATE UNIQUE INDEX "audit_log_link" on "audit_log" ("tenant_id", "prev_hash")

-- index audit_log_tenant
CREATE INDEX "audit_log_tenant" on "audit_log" ("tenant_id", "seq")

-- index batches_status
CREATE INDEX "batches_status" on "batches" ("status", "created_at")

-- index batches_tenant_id
CREATE INDEX "batches_tenant_id" on "batches" ("tenant_id", "id")

-- index device_approvals_tenant
CREATE INDEX "device_approvals_tenant" on "device_approvals" ("tenant_id", "requested_at")

-- index device_commands_device
CREATE INDEX "device_commands_device" on "device_commands" ("tenant_id", "device_id", "created_at")

-- index device_commands_state
CREATE INDEX "device_commands_state" on "device_commands" ("state")

-- index device_history_device
CREATE INDEX "device_history_device" on "device_history" ("tenant_id", "device_id", "seq")

-- index device_history_once
CREATE UNIQUE INDEX "device_history_once" on "device_history" ("tenant_id", "device_id", "version", "kind", "ordinal")

-- index device_steps_conversation
CREATE INDEX "device_steps_conversation" on "device_steps" ("tenant_id", "conversation", "at")

-- index device_steps_key
CREATE INDEX "device_steps_key" on "device_steps" ("tenant_id", "key_subject", "kind", "at")

-- index knowledge_chunks_file
CREATE INDEX "knowledge_chunks_file" on "knowledge_chunks" ("vector_store_id", "file_id", "chunk_index")

-- index knowledge_files_expires_at
CREATE INDEX "knowledge_files_expires_at" on "knowledge_files" ("expires_at")

-- index knowledge_files_sha256
CREATE INDEX "knowledge_files_sha256" on "knowledge_files" ("sha256")

-- index knowledge_files_tenant_id
CREATE INDEX "knowledge_files_tenant_id" on "knowledge_files" ("tenant_id", "id")

-- index knowledge_store_files_file
CREATE INDEX "knowledge_store_files_file" on "knowledge_store_files" ("tenant_id", "file_id")

-- index knowledge_store_files_status
CREATE INDEX "knowledge_store_files_status" on "knowledge_store_files" ("status")

-- index knowledge_vector_stores_tenant_id
CREATE INDEX "knowledge_vector_stores_tenant_id" on "knowledge_vector_stores" ("tenant_id", "id")

-- index live_event_bodies_created_at
CREATE INDEX "live_event_bodies_created_at" on "live_event_bodies" ("created_at")

-- index pool_replicas_deployment
CREATE INDEX "pool_replicas_deployment" on "pool_replicas" ("deployment")

-- index pool_replicas_worker
CREATE INDEX "pool_replicas_worker" on "pool_replicas" ("worker")

-- index request_log_app_created_id
CREATE INDEX "request_log_app_created_id" on "request_log" ("app_id", "created_at", "id")

-- index request_log_created_id
CREATE INDEX "request_log_created_id" on "request_log" ("created_at", "id")

-- index request_log_key_created_id
CREATE INDEX "request_log_key_created_id" on "request_log" ("key_id", "created_at", "id")

-- index request_log_model_created_id
CREATE INDEX "request_log_model_created_id" on "request_log" ("model", "created_at", "id")

-- index request_log_parent_id
CREATE INDEX "request_log_parent_id" on "request_log" ("parent_id")

-- index request_log_status_created_id
CREATE INDEX "request_log_status_created_id" on "request_log" ("status", "created_at", "id")

-- index request_log_tenant_created_id
CREATE INDEX "request_log_tenant_created_id" on "request_log" ("tenant_id", "created_at", "id")

-- index request_log_tenant_model_created_id
CREATE INDEX "request_log_tenant_model_created_id" on "request_log" ("tenant_id", "model", "created_at", "id")

-- index request_log_tenant_status_created_id
CREATE INDEX "request_log_tenant_status_created_id" on "request_log" ("tenant_id", "status", "created_at", "id")

-- index responses_expires_at
CREATE INDEX "responses_expires_at" on "responses" ("expires_at")

-- index responses_tenant_expires
CREATE INDEX "responses_tenant_expires" on "responses" ("tenant_id", "expires_at")

-- table alerts
CREATE TABLE "alerts" ("key" text primary key, "kind" text not null, "subject" text not null, "tenant_id" text, "state" text not null, "message" text not null, "link" text not null, "first_seen_at" bigint not null, "last_seen_at" bigint not null, "resolved_at" bigint, "fired" integer not null)

-- table api_keys
CREATE TABLE "api_keys" ("id" text primary key, "tenant_id" text not null, "name" text not null, "prefix" text not null, "hash" text not null unique, "scopes" text not null, "limits" text not null, "created_at" bigint not null, "expires_at" bigint, "revoked_at" bigint)

-- table app_memories
CREATE TABLE "app_memories" ("tenant_id" text not null, "app" text not null, "end_user" text not null, "turns" text not null, "updated_at" bigint not null, constraint "app_memories_pk" primary key ("tenant_id", "app", "end_user"))

-- table app_versions
CREATE TABLE "app_versions" ("tenant_id" text not null, "app" text not null, "version" integer not null, "config" text not null, "created_at" bigint not null, constraint "app_versions_pk" primary key ("tenant_id", "app", "version"))

-- table apps
CREATE TABLE "apps" ("tenant_id" text not null, "name" text not null, "live_version" integer not null, "latest_version" integer not null, "created_at" bigint not null, "updated_at" bigint not null, constraint "apps_pk" primary key ("tenant_id", "name"))

-- table audit_log
CREATE TABLE "audit_log" ("seq" integer primary key autoincrement, "id" text not null unique, "at" bigint not null, "tenant_id" text not null, "event" text not null, "actor" text not null, "key_id" text, "model" text, "conversation" text, "source" text not null, "device_id" text, "command_id" text, "approval_id" text, "detail" text not null, "prev_hash" text not null, "hash" text not null)

-- table batch_results
CREATE TABLE "batch_results" ("batch_id" text not null, "line_index" integer not null, "custom_id" text not null, "request_id" text not null, "ok" integer not null, "line" text not null, "input_tokens" integer default 0 not null, "cached_tokens" integer default 0 not null, "output_tokens" integer default 0 not null, constraint "batch_results_pk" primary key ("batch_id", "line_index"))

-- table batches
CREATE TABLE "batches" ("id" text primary key, "tenant_id" text not null, "key_id" text, "principal" text not null, "endpoint" text not null, "input_file_id" text not null, "completion_window" text not null, "status" text not null, "output_file_id" text, "error_file_id" text, "errors" text, "metadata" text, "total" integer default 0 not null, "completed" integer default 0 not null, "failed" integer default 0 not null, "input_tokens" bigint default 0 not null, "cached_tokens" bigint default 0 not null, "output_tokens" bigint default 0 not null, "enqueued_tokens" bigint default 0 not null, "owner" text, "lease_until" bigint, "created_at" bigint not null, "in_progress_at" bigint, "expires_at" bigint not null, "finalizing_at" bigint, "completed_at" bigint, "failed_at" bigint, "expired_at" bigint, "cancelling_at" bigint, "cancelled_at" bigint)

-- table device_approvals
CREATE TABLE "device_approvals" ("id" text primary key, "tenant_id" text not null, "command_hash" text not null, "device_id" text not null, "kind" text not null, "name" text not null, "input" text not null, "risk" text not null, "reason" text not null, "status" text not null, "requested_by" text, "requested_at" bigint not null, "expires_at" bigint not null, "decided_by" text, "decided_at" bigint, "used_at" bigint, "conversation" text, "model" text, "grants" text)

-- table device_commands
CREATE TABLE "device_commands" ("id" text primary key, "tenant_id" text not null, "device_id" text not null, "kind" text not null, "name" text not null, "input" text not null, "hash" text not null, "state" text not null, "created_at" bigint not null, "updated_at" bigint not null, "deadline" bigint not null, "output" text, "error" text, "key_id" text, "model" text, "conversation" text, "approval_id" text)

-- table device_estops
CREATE TABLE "device_estops" ("tenant_id" text primary key, "active" integer not null, "reason" text not null, "changed_by" text not null, "changed_at" bigint not null)

-- table device_history
CREATE TABLE "device_history" ("seq" integer primary key autoincrement, "tenant_id" text not null, "device_id" text not null, "version" bigint not null, "at" bigint not null, "kind" text not null, "data" text not null, "ordinal" integer default 0 not null)

-- table device_idempotency
CREATE TABLE "device_idempotency" ("tenant_id" text not null, "key_subject" text not null, "idempotency_key" text not null, "request_hash" text not null, "state" text not null, "status" integer, "body" text, "created_at" bigint not null, "expires_at" bigint not null, constraint "device_idempotency_pk" primary key ("tenant_id", "key_subject", "idempotency_key"))

-- table device_steps
CREATE TABLE "device_steps" ("seq" integer primary key autoincrement, "tenant_id" text not null, "kind" text not null, "key_subject" text not null, "conversation" text, "device_id" text not null, "at" bigint not null)

-- table device_taints
CREATE TABLE "device_taints" ("tenant_id" text not null, "subject" text not null, "until" bigint not null, "reason" text not null, "set_at" bigint not null, constraint "device_taints_pk" primary key ("tenant_id", "subject"))

-- table device_twins
CREATE TABLE "device_twins" ("tenant_id" text not null, "device_id" text not null, "desired" text not null, "reported" text not null, "version" bigint not null, "connection" text not null, "reported_at" bigint, "updated_at" bigint not null, constraint "device_twins_pk" primary key ("tenant_id", "device_id"))

-- table devices
CREATE TABLE "devices" ("tenant_id" text not null, "id" text not null, "model" text not null, "secret_hash" text not null, "created_at" bigint not null, "updated_at" bigint not null, constraint "devices_pk" primary key ("tenant_id", "id"))

-- table installation
CREATE TABLE "installation" ("id" text primary key, "created_at" bigint not null)

-- table knowledge_chunks
CREATE TABLE "knowledge_chunks" ("id" integer primary key autoincrement, "vector_store_id" text not null, "file_id" text not null, "chunk_index" integer not null, "text" text not null, "tokens" integer not null, "term_count" integer not null, "term_counts" text not null, "embedding" blob)

-- table knowledge_file_batches
CREATE TABLE "knowledge_file_batches" ("id" text primary key, "vector_store_id" text not null, "tenant_id" text not null, "created_at" bigint not null)

-- table knowledge_files
CREATE TABLE "knowledge_files" ("id" text primary key, "tenant_id" text not null, "filename" text not null, "purpose" text not null, "bytes" bigint not null, "sha256" text not null, "created_at" bigint not null, "expires_at" bigint)

-- table knowledge_store_files
CREATE TABLE "knowledge_store_files" ("vector_store_id" text not null, "file_id" text not null, "tenant_id" text not null, "key_id" text, "batch_id" text, "status" text not null, "last_error" text, "attributes" text not null, "chunking" text not null, "usage_bytes" bigint default 0 not null, "created_at" bigint not null, "updated_at" bigint not null, constraint "knowledge_store_files_pk" primary key ("vector_store_id", "file_id"))

-- table knowledge_vector_stores
CREATE TABLE "knowledge_vector_stores" ("seq" integer primary key autoincrement, "id" text not null unique, "tenant_id" text not null, "name" text not null, "description" text, "metadata" text not null, "created_at" bigint not null, "last_active_at" bigint not null, "expires_after_days" integer, "chunk_count" bigint default 0 not null, "term_count" bigint default 0 not null, "revision" bigint default 0 not null)

-- table live_event_bodies
CREATE TABLE "live_event_bodies" ("id" text primary key, "body" text not null, "created_at" bigint not null)

-- table pool_demand
CREATE TABLE "pool_demand" ("control_plane" text not null, "deployment" text not null, "held" integer not null, "in_flight" integer not null, "reported_at" bigint not null, constraint "pool_demand_key" primary key ("control_plane", "deployment"))

-- table pool_deployments
CREATE TABLE "pool_deployments" ("name" text primary key, "source" text not null, "replicas" integer not null, "device" text not null, "context_size" integer not null, "slots" integer not null, "routing" text not null, "created_at" bigint not null, "updated_at" bigint not null, "autoscale" text)

-- table pool_join_tokens
CREATE TABLE "pool_join_tokens" ("id" text primary key, "hash" text not null unique, "created_at" bigint not null, "expires_at" bigint)

-- table pool_leases
CREATE TABLE "pool_leases" ("name" text primary key, "holder" text not null, "generation" bigint not null, "expires_at" bigint not null)

-- table pool_replicas
CREATE TABLE "pool_replicas" ("id" text primary key, "deployment" text not null, "worker" text not null, "state" text not null, "error" text, "created_at" bigint not null, "updated_at" bigint not null)

-- table pool_workers
CREATE TABLE "pool_workers" ("name" text primary key, "credential_hash" text not null unique, "inference_secret" text not null, "endpoint" text not null, "hardware" text not null, "load" text not null, "draining" integer default 0 not null, "joined_at" bigint not null, "last_heartbeat_at" bigint not null)

-- table request_log
CREATE TABLE "request_log" ("seq" integer primary key autoincrement, "id" text not null unique, "created_at" bigint not null, "kind" text not null, "model" text not null, "http_status" integer not null, "status" text not null, "prompt_tokens" integer default 0 not null, "completion_tokens" integer default 0 not null, "cached_tokens" integer default 0 not null, "ttft_ms" real, "duration_ms" real not null, "finish_reason" text, "stream" integer default 0 not null, "error_code" text, "served_by" text, "route" text, "usage_estimated" integer default 0 not null, "tenant_id" text default 'default' not null, "key_id" text, "deployment" text, "worker" text, "device_class" text, "compute_seconds" real default 0 not null, "cost_nano_usd" bigint default 0 not null, "requested_model" text, "parent_id" text, "app_id" text, "app_version" text, "batch_id" text)

-- table response_input_items
CREATE TABLE "response_input_items" ("response_id" text not null, "tenant_id" text not null, "position" integer not null, "item_id" text not null, "item" text not null, constraint "response_input_items_pk" primary key ("response_id", "position"))

-- table responses
CREATE TABLE "responses" ("id" text primary key, "tenant_id" text not null, "key_id" text, "created_at" bigint not null, "expires_at" bigint not null, "status" text not null, "previous_response_id" text, "body" text not null, "bytes" bigint not null)

-- table tenants
CREATE TABLE "tenants" ("id" text primary key, "name" text not null, "limits" text not null, "created_at" bigint not null)

-- table usage_rollups
CREATE TABLE "usage_rollups" ("hour" bigint not null, "tenant_id" text not null, "key_id" text not null, "model" text not null, "device_class" text not null, "status" text not null, "app_id" text not null, "app_version" text not null, "requests" bigint default 0 not null, "prompt_tokens" bigint default 0 not null, "cached_tokens" bigint default 0 not null, "completion_tokens" bigint default 0 not null, "compute_seconds" real default 0 not null, "cost_nano_usd" bigint default 0 not null, constraint "usage_rollups_pk" primary key ("hour", "tenant_id", "key_id", "model", "device_class", "status", "app_id", "app_version"))
