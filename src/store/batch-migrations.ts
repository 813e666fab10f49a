/**
 * Migrations of the batch section (0037 on): batches and their lines' results. A new one takes
 * the next number of the one ordering in `migrations.ts`. Portable DDL only; JSON as text.
 */
import type { Kysely, Migration } from 'kysely';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const batchMigrations: Record<string, Migration> = {
  '0037-batches': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('batches')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('key_id', 'text')
        // The creator's principal as JSON: lines are admitted with the scopes the key had when the batch was made.
        .addColumn('principal', 'text', (column) => column.notNull())
        .addColumn('endpoint', 'text', (column) => column.notNull())
        .addColumn('input_file_id', 'text', (column) => column.notNull())
        .addColumn('completion_window', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('output_file_id', 'text')
        .addColumn('error_file_id', 'text')
        .addColumn('errors', 'text')
        .addColumn('metadata', 'text')
        .addColumn('total', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('completed', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('failed', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('input_tokens', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('cached_tokens', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('output_tokens', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('enqueued_tokens', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('in_progress_at', 'bigint')
        .addColumn('expires_at', 'bigint', (column) => column.notNull())
        .addColumn('finalizing_at', 'bigint')
        .addColumn('completed_at', 'bigint')
        .addColumn('failed_at', 'bigint')
        .addColumn('expired_at', 'bigint')
        .addColumn('cancelling_at', 'bigint')
        .addColumn('cancelled_at', 'bigint')
        .execute();
      await db.schema.createIndex('batches_tenant_id').on('batches').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('batches_status').on('batches').columns(['status', 'created_at']).execute();
      await db.schema
        .createTable('batch_results')
        .addColumn('batch_id', 'text', (column) => column.notNull())
        .addColumn('line_index', 'integer', (column) => column.notNull())
        .addColumn('custom_id', 'text', (column) => column.notNull())
        .addColumn('request_id', 'text', (column) => column.notNull())
        .addColumn('ok', 'integer', (column) => column.notNull())
        .addColumn('line', 'text', (column) => column.notNull())
        .addColumn('input_tokens', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('cached_tokens', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('output_tokens', 'integer', (column) => column.notNull().defaultTo(0))
        // One result per line: a line computed again after a crash is not saved twice.
        .addPrimaryKeyConstraint('batch_results_pk', ['batch_id', 'line_index'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('batch_results').execute();
      await db.schema.dropTable('batches').execute();
    },
  },
};
