/**
 * Migrations of the pool section (0020, 0021, 0031, 0042, 0050). A new one takes the next number of the one
 * ordering in `migrations.ts`, whatever section it belongs to.
 * Portable DDL only (SQLite and PostgreSQL); JSON is stored as text.
 */
import type { Kysely, Migration } from 'kysely';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const poolMigrations: Record<string, Migration> = {
  '0020-pool': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pool_join_tokens')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('hash', 'text', (column) => column.notNull().unique())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
      await db.schema
        .createTable('pool_workers')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('credential_hash', 'text', (column) => column.notNull().unique())
        .addColumn('inference_secret', 'text', (column) => column.notNull())
        .addColumn('endpoint', 'text', (column) => column.notNull())
        .addColumn('hardware', 'text', (column) => column.notNull())
        .addColumn('load', 'text', (column) => column.notNull())
        .addColumn('draining', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('joined_at', 'bigint', (column) => column.notNull())
        .addColumn('last_heartbeat_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('pool_deployments')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('replicas', 'integer', (column) => column.notNull())
        .addColumn('device', 'text', (column) => column.notNull())
        .addColumn('context_size', 'integer', (column) => column.notNull())
        .addColumn('slots', 'integer', (column) => column.notNull())
        .addColumn('routing', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('pool_replicas')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('deployment', 'text', (column) => column.notNull())
        .addColumn('worker', 'text', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('error', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('pool_replicas_deployment').on('pool_replicas').column('deployment').execute();
      await db.schema.createIndex('pool_replicas_worker').on('pool_replicas').column('worker').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['pool_replicas', 'pool_deployments', 'pool_workers', 'pool_join_tokens']) await db.schema.dropTable(table).execute();
    },
  },
  '0021-pool-autoscale': {
    // A deployment's autoscale range and settings as JSON; null (every deployment before this) keeps a fixed count.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('pool_deployments').addColumn('autoscale', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('pool_deployments').dropColumn('autoscale').execute();
    },
  },
  '0031-pool-leases': {
    // Who leads the pool when several control planes share the store: one row per thing led, with
    // its holder, expiry and fencing generation (core/pool-lease.ts).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pool_leases')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('holder', 'text', (column) => column.notNull())
        .addColumn('generation', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint', (column) => column.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('pool_leases').execute();
    },
  },
  '0042-cross-control-plane': {
    // What control planes on one store share beyond the lease (decision 0016): each one's demand per
    // deployment, so the leader scales from zero for a request held by a follower; and the bodies of
    // live event batches too large for a PostgreSQL notification (8000 bytes), read by id.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pool_demand')
        .addColumn('control_plane', 'text', (column) => column.notNull())
        .addColumn('deployment', 'text', (column) => column.notNull())
        .addColumn('held', 'integer', (column) => column.notNull())
        .addColumn('in_flight', 'integer', (column) => column.notNull())
        .addColumn('reported_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('pool_demand_key', ['control_plane', 'deployment'])
        .execute();
      await db.schema
        .createTable('live_event_bodies')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('body', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('live_event_bodies_created_at').on('live_event_bodies').column('created_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('live_event_bodies').execute();
      await db.schema.dropTable('pool_demand').execute();
    },
  },
  '0050-pool-spare-slots': {
    // A deployment's spare slots (decision 0017): sequences beyond its slots that only interactive
    // requests take. Every deployment before this was deployed, and its replicas loaded, without a
    // spare, so existing rows get 0; new deployments default to 1 in the pool runtime, not here.
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('pool_deployments')
        .addColumn('spare_slots', 'integer', (column) => column.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('pool_deployments').dropColumn('spare_slots').execute();
    },
  },
};
