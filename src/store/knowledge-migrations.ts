/**
 * Migrations of the knowledge section (0024, 0026, 0033 on): files, vector stores, their files and chunks. A
 * new one takes the next number of the one ordering in `migrations.ts`, whatever section it
 * belongs to. Portable DDL only (SQLite and PostgreSQL); JSON is stored as text.
 */
import type { Kysely, Migration } from 'kysely';
import { isPostgres, serialKey } from './dialect.js';

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
  '0026-knowledge-vector-stores': {
    // Vector stores, their files and chunks. SQLite indexes chunks in an FTS5 table per store
    // (made with the store); PostgreSQL keeps postings and document frequencies here.
    async up(db: Kysely<unknown>) {
      const serial = serialKey(db);
      await db.schema
        .createTable('knowledge_vector_stores')
        .addColumn('seq', serial.type, serial.build)
        .addColumn('id', 'text', (column) => column.notNull().unique())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('description', 'text')
        .addColumn('metadata', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('last_active_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_after_days', 'integer')
        .addColumn('chunk_count', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('term_count', 'bigint', (column) => column.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('knowledge_vector_stores_tenant_id').on('knowledge_vector_stores').columns(['tenant_id', 'id']).execute();
      await db.schema
        .createTable('knowledge_store_files')
        .addColumn('vector_store_id', 'text', (column) => column.notNull())
        .addColumn('file_id', 'text', (column) => column.notNull())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('key_id', 'text')
        .addColumn('batch_id', 'text')
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('last_error', 'text')
        .addColumn('attributes', 'text', (column) => column.notNull())
        .addColumn('chunking', 'text', (column) => column.notNull())
        .addColumn('usage_bytes', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('knowledge_store_files_pk', ['vector_store_id', 'file_id'])
        .execute();
      await db.schema.createIndex('knowledge_store_files_file').on('knowledge_store_files').columns(['tenant_id', 'file_id']).execute();
      await db.schema.createIndex('knowledge_store_files_status').on('knowledge_store_files').column('status').execute();
      await db.schema
        .createTable('knowledge_file_batches')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('vector_store_id', 'text', (column) => column.notNull())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('knowledge_chunks')
        .addColumn('id', serial.type, serial.build)
        .addColumn('vector_store_id', 'text', (column) => column.notNull())
        .addColumn('file_id', 'text', (column) => column.notNull())
        .addColumn('chunk_index', 'integer', (column) => column.notNull())
        .addColumn('text', 'text', (column) => column.notNull())
        .addColumn('tokens', 'integer', (column) => column.notNull())
        .addColumn('term_count', 'integer', (column) => column.notNull())
        .addColumn('term_counts', 'text', (column) => column.notNull())
        .addColumn('embedding', isPostgres(db) ? 'bytea' : 'blob')
        .execute();
      await db.schema.createIndex('knowledge_chunks_file').on('knowledge_chunks').columns(['vector_store_id', 'file_id', 'chunk_index']).execute();
      if (!isPostgres(db)) return;
      await db.schema
        .createTable('knowledge_postings')
        .addColumn('vector_store_id', 'text', (column) => column.notNull())
        .addColumn('term', 'text', (column) => column.notNull())
        .addColumn('chunk_id', 'bigint', (column) => column.notNull())
        .addColumn('tf', 'integer', (column) => column.notNull())
        .addPrimaryKeyConstraint('knowledge_postings_pk', ['vector_store_id', 'term', 'chunk_id'])
        .execute();
      await db.schema
        .createTable('knowledge_terms')
        .addColumn('vector_store_id', 'text', (column) => column.notNull())
        .addColumn('term', 'text', (column) => column.notNull())
        .addColumn('df', 'integer', (column) => column.notNull())
        .addPrimaryKeyConstraint('knowledge_terms_pk', ['vector_store_id', 'term'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['knowledge_terms', 'knowledge_postings']) await db.schema.dropTable(table).ifExists().execute();
      for (const table of ['knowledge_chunks', 'knowledge_file_batches', 'knowledge_store_files', 'knowledge_vector_stores'])
        await db.schema.dropTable(table).execute();
    },
  },
  '0033-knowledge-store-revision': {
    // Counts every change to a store's chunks, so a process holding a copy of its index in memory
    // (knowledge/search/store-index-cache.ts) sees another process's writes with one read.
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('knowledge_vector_stores')
        .addColumn('revision', 'bigint', (column) => column.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('knowledge_vector_stores').dropColumn('revision').execute();
    },
  },
};
