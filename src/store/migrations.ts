/**
 * Versioned migrations, written once for every dialect, in one ordering that only grows: Kysely
 * runs them sorted by name and refuses to start a database that applied a name sorting after a
 * pending one. So every new migration, whatever section it belongs to, takes the next number
 * after the highest one here (`migrations.test.ts` checks it against `releasedMigrations`), and a
 * released migration is never edited: add the next. Kysely records applied names in its own table.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { alertMigrations } from './alert-migrations.js';
import { appMigrations } from './app-migrations.js';
import { batchMigrations } from './batch-migrations.js';
import { deviceMigrations } from './device-migrations.js';
import { doubleType, serialKey } from './dialect.js';
import { knowledgeMigrations } from './knowledge-migrations.js';
import { ledgerDimensionMigrations } from './ledger-migrations.js';
import { policyStateMigrations } from './policy-state-migrations.js';
import { poolMigrations } from './pool-migrations.js';
import { requestLogMigrations } from './request-log-migrations.js';
import { responseMigrations } from './response-migrations.js';
import { tenancyMigrations } from './tenancy-migrations.js';

const ledgerMigrations: Record<string, Migration> = {
  '0001-request-log': {
    async up(db: Kysely<unknown>) {
      // The same DDL as released for SQLite; PostgreSQL (which never ran it before) needs an identity and doubles.
      const serial = serialKey(db);
      const double = doubleType(db);
      await db.schema
        .createTable('request_log')
        .addColumn('seq', serial.type, serial.build)
        .addColumn('id', 'text', (column) => column.notNull().unique())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('model', 'text', (column) => column.notNull())
        .addColumn('http_status', 'integer', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('prompt_tokens', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('completion_tokens', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('cached_tokens', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('ttft_ms', double)
        .addColumn('duration_ms', double, (column) => column.notNull())
        .addColumn('finish_reason', 'text')
        .addColumn('stream', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('error_code', 'text')
        .addColumn('served_by', 'text')
        .execute();
      await db.schema.createIndex('request_log_created_at').on('request_log').column('created_at').execute();
      await db.schema.createIndex('request_log_model_created_at').on('request_log').columns(['model', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await sql`drop table request_log`.execute(db);
    },
  },
  '0002-request-route': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('request_log').addColumn('route', 'text').execute();
      await db.schema
        .alterTable('request_log')
        .addColumn('usage_estimated', 'integer', (column) => column.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('request_log').dropColumn('usage_estimated').execute();
      await db.schema.alterTable('request_log').dropColumn('route').execute();
    },
  },
};

/** Every migration by name, whichever section it belongs to; Kysely runs them in name order. */
export const allMigrations: Readonly<Record<string, Migration>> = {
  ...ledgerMigrations,
  ...tenancyMigrations,
  ...deviceMigrations,
  ...poolMigrations,
  ...ledgerDimensionMigrations,
  ...knowledgeMigrations,
  ...policyStateMigrations,
  ...responseMigrations,
  ...batchMigrations,
  ...requestLogMigrations,
  ...appMigrations,
  ...alertMigrations,
};

/** The migrations, for Kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => allMigrations,
};
