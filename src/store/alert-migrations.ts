/**
 * Migration of the alerts section (issue 28, decision 0022): 0048 makes `alerts`, one row per
 * condition (kind and subject, the dedup key) with whether it fires and when it was first and last
 * seen. A new one takes the next number of the one ordering in `migrations.ts`. Portable DDL only.
 */
import type { Kysely, Migration } from 'kysely';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const alertMigrations: Record<string, Migration> = {
  '0048-alerts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('alerts')
        .addColumn('key', 'text', (column) => column.primaryKey())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        // Null: the whole cloud's (a worker, a deployment), seen by the operator only.
        .addColumn('tenant_id', 'text')
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('message', 'text', (column) => column.notNull())
        .addColumn('link', 'text', (column) => column.notNull())
        .addColumn('first_seen_at', 'bigint', (column) => column.notNull())
        .addColumn('last_seen_at', 'bigint', (column) => column.notNull())
        .addColumn('resolved_at', 'bigint')
        .addColumn('fired', 'integer', (column) => column.notNull())
        .execute();
      // The evaluator reads the firing ones each tick; the API lists newest first.
      await db.schema.createIndex('alerts_state_last_seen').on('alerts').columns(['state', 'last_seen_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('alerts').execute();
    },
  },
};
