/**
 * Migrations of the apps section (issue 23): 0039 makes apps, their immutable versions and the
 * memory each keeps per end user. A new one takes the next number of the one ordering in
 * `migrations.ts`. Portable DDL only; configs and memory are JSON as text. The ledger's app and
 * version columns came with 0022.
 */
import type { Kysely, Migration } from 'kysely';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const appMigrations: Record<string, Migration> = {
  '0039-apps': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('apps')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('live_version', 'integer', (column) => column.notNull())
        .addColumn('latest_version', 'integer', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('apps_pk', ['tenant_id', 'name'])
        .execute();
      await db.schema
        .createTable('app_versions')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('app', 'text', (column) => column.notNull())
        .addColumn('version', 'integer', (column) => column.notNull())
        .addColumn('config', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        // Two publishes racing for one number: the second insert fails instead of replacing the first.
        .addPrimaryKeyConstraint('app_versions_pk', ['tenant_id', 'app', 'version'])
        .execute();
      await db.schema
        .createTable('app_memories')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('app', 'text', (column) => column.notNull())
        .addColumn('end_user', 'text', (column) => column.notNull())
        .addColumn('turns', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('app_memories_pk', ['tenant_id', 'app', 'end_user'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('app_memories').execute();
      await db.schema.dropTable('app_versions').execute();
      await db.schema.dropTable('apps').execute();
    },
  },
};
