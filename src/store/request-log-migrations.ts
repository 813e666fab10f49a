/**
 * Indexes of the request-log view (`GET /v1/requests`, decision 0019): the view pages newest
 * first by (created_at, id), so every filter it offers has an index ending in those two columns,
 * and a page is one short range of one index however deep it is. The earlier (x, created_at)
 * indexes are replaced by their (x, created_at, id) supersets, which serve the usage reads and
 * prunes they served, so a ledger write maintains four more indexes than before, not eight.
 */
import type { Kysely, Migration } from 'kysely';

/** Each index of 0043: its name and columns. Listed by bench/request-log.ts. */
export const requestLogIndexes: ReadonlyArray<{ name: string; columns: readonly string[] }> = [
  { name: 'request_log_created_id', columns: ['created_at', 'id'] },
  { name: 'request_log_tenant_created_id', columns: ['tenant_id', 'created_at', 'id'] },
  { name: 'request_log_key_created_id', columns: ['key_id', 'created_at', 'id'] },
  { name: 'request_log_model_created_id', columns: ['model', 'created_at', 'id'] },
  { name: 'request_log_status_created_id', columns: ['status', 'created_at', 'id'] },
  { name: 'request_log_app_created_id', columns: ['app_id', 'created_at', 'id'] },
  // A tenant's admin looking for its failures: errors are rare, so tenant-then-filter would read most of the tenant.
  { name: 'request_log_tenant_status_created_id', columns: ['tenant_id', 'status', 'created_at', 'id'] },
  // Likewise a model the tenant seldom (or never) used: without it, such a page reads the tenant's every row.
  { name: 'request_log_tenant_model_created_id', columns: ['tenant_id', 'model', 'created_at', 'id'] },
];

/** The indexes 0043 replaces, with their columns (for `down`, and bench/ledger-indexes.ts's baseline). */
export const replacedRequestLogIndexes: ReadonlyArray<{ name: string; columns: readonly string[] }> = [
  { name: 'request_log_created_at', columns: ['created_at'] },
  { name: 'request_log_model_created_at', columns: ['model', 'created_at'] },
  { name: 'request_log_tenant_created_at', columns: ['tenant_id', 'created_at'] },
  { name: 'request_log_key_created_at', columns: ['key_id', 'created_at'] },
];

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const requestLogMigrations: Record<string, Migration> = {
  '0043-request-log-indexes': {
    async up(db: Kysely<unknown>) {
      for (const index of requestLogIndexes)
        await db.schema
          .createIndex(index.name)
          .on('request_log')
          .columns([...index.columns])
          .execute();
      for (const index of replacedRequestLogIndexes) await db.schema.dropIndex(index.name).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const index of replacedRequestLogIndexes)
        await db.schema
          .createIndex(index.name)
          .on('request_log')
          .columns([...index.columns])
          .execute();
      for (const index of requestLogIndexes) await db.schema.dropIndex(index.name).execute();
    },
  },
};
