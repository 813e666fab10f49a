/**
 * Migrations of stored responses (`/v1/responses`, issue 22): numbers 0029-0030 are this section's.
 * A new one takes the next number of the one ordering in `migrations.ts`. Portable DDL only
 * (SQLite and PostgreSQL); JSON is stored as text.
 */
import type { Kysely, Migration } from 'kysely';

export const responseMigrations: Record<string, Migration> = {
  '0029-responses': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('responses')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('key_id', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('previous_response_id', 'text')
        .addColumn('body', 'text', (column) => column.notNull())
        .addColumn('bytes', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('responses_tenant_expires').on('responses').columns(['tenant_id', 'expires_at']).execute();
      await db.schema.createIndex('responses_expires_at').on('responses').column('expires_at').execute();
      await db.schema
        .createTable('response_input_items')
        .addColumn('response_id', 'text', (column) => column.notNull())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('position', 'integer', (column) => column.notNull())
        .addColumn('item_id', 'text', (column) => column.notNull())
        .addColumn('item', 'text', (column) => column.notNull())
        .addPrimaryKeyConstraint('response_input_items_pk', ['response_id', 'position'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('response_input_items').execute();
      await db.schema.dropTable('responses').execute();
    },
  },
};
