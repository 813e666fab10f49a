/**
 * Migrations of the tenancy section (0003, 0027): tenants, API keys (hashes only), and the ledger's
 * columns on the request log. A new one takes the next number of the one ordering in
 * `migrations.ts`, whatever section it belongs to.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import { doubleType } from './dialect.js';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const tenancyMigrations: Record<string, Migration> = {
  '0003-tenancy': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('limits', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('prefix', 'text', (column) => column.notNull())
        .addColumn('hash', 'text', (column) => column.notNull().unique())
        .addColumn('scopes', 'text', (column) => column.notNull())
        .addColumn('limits', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('api_keys_tenant_id').on('api_keys').column('tenant_id').execute();
      // The ledger is the request log: one row per request, now with who made it and what it cost.
      const ledger = db.schema.alterTable('request_log');
      await ledger.addColumn('tenant_id', 'text', (column) => column.notNull().defaultTo('default')).execute();
      await ledger.addColumn('key_id', 'text').execute();
      await ledger.addColumn('deployment', 'text').execute();
      await ledger.addColumn('worker', 'text').execute();
      await ledger.addColumn('device_class', 'text').execute();
      await ledger.addColumn('compute_seconds', doubleType(db), (column) => column.notNull().defaultTo(0)).execute();
      await ledger.addColumn('cost_nano_usd', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('request_log_tenant_created_at').on('request_log').columns(['tenant_id', 'created_at']).execute();
      await db.schema.createIndex('request_log_key_created_at').on('request_log').columns(['key_id', 'created_at']).execute();
      // The tenant that owns everything in local mode exists from the start.
      await sql`insert into tenants (id, name, limits, created_at) values ('default', 'Default', '{}', ${Date.now()})`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('request_log_key_created_at').execute();
      await db.schema.dropIndex('request_log_tenant_created_at').execute();
      for (const column of ['cost_nano_usd', 'compute_seconds', 'device_class', 'worker', 'deployment', 'key_id', 'tenant_id']) {
        await db.schema.alterTable('request_log').dropColumn(column).execute();
      }
      await db.schema.dropTable('api_keys').execute();
      await db.schema.dropTable('tenants').execute();
    },
  },
  '0027-installation': {
    // One row: this installation's id. Installations sharing a Redis keep their limit counters
    // apart under it; a database upgraded to this gets its own id like a new one.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('installation')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
      await sql`insert into installation (id, created_at) values (${randomBytes(8).toString('hex')}, ${Date.now()})`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('installation').execute();
    },
  },
};
