/**
 * Migrations of the knowledge section (0024 on): files, vector stores, their files and chunks. A
 * new one takes the next number of the one ordering in `migrations.ts`, whatever section it
 * belongs to. Portable DDL only (SQLite and PostgreSQL); JSON is stored as text.
 */
import type { Kysely, Migration } from 'kysely';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const knowledgeMigrations: Record<string, Migration> = {
  '0024-knowledge-files': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('knowledge_files')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('filename', 'text', (column) => column.notNull())
        .addColumn('purpose', 'text', (column) => column.notNull())
        .addColumn('bytes', 'bigint', (column) => column.notNull())
        .addColumn('sha256', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
      await db.schema.createIndex('knowledge_files_tenant_id').on('knowledge_files').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('knowledge_files_sha256').on('knowledge_files').column('sha256').execute();
      await db.schema.createIndex('knowledge_files_expires_at').on('knowledge_files').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('knowledge_files').execute();
    },
  },
};
