/**
 * Migrations of the devices section (0010). A new one takes the next number of the one ordering
 * in `migrations.ts`, whatever section it belongs to. Portable DDL only (SQLite and PostgreSQL); JSON is stored as text.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { serialKey } from './dialect.js';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const deviceMigrations: Record<string, Migration> = {
  '0010-devices': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('devices')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('id', 'text', (column) => column.notNull())
        .addColumn('model', 'text', (column) => column.notNull())
        .addColumn('secret_hash', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('devices_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createTable('device_twins')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('device_id', 'text', (column) => column.notNull())
        .addColumn('desired', 'text', (column) => column.notNull())
        .addColumn('reported', 'text', (column) => column.notNull())
        .addColumn('version', 'bigint', (column) => column.notNull())
        .addColumn('connection', 'text', (column) => column.notNull())
        .addColumn('reported_at', 'bigint')
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('device_twins_pk', ['tenant_id', 'device_id'])
        .execute();
      await db.schema
        .createTable('device_history')
        .addColumn('seq', serialKey(db).type, serialKey(db).build)
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('device_id', 'text', (column) => column.notNull())
        .addColumn('version', 'bigint', (column) => column.notNull())
        .addColumn('at', 'bigint', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('data', 'text', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('device_history_device').on('device_history').columns(['tenant_id', 'device_id', 'seq']).execute();
      await db.schema
        .createTable('device_commands')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('device_id', 'text', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('input', 'text', (column) => column.notNull())
        .addColumn('hash', 'text', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addColumn('deadline', 'bigint', (column) => column.notNull())
        .addColumn('output', 'text')
        .addColumn('error', 'text')
        .addColumn('key_id', 'text')
        .addColumn('model', 'text')
        .addColumn('conversation', 'text')
        .addColumn('approval_id', 'text')
        .execute();
      await db.schema.createIndex('device_commands_device').on('device_commands').columns(['tenant_id', 'device_id', 'created_at']).execute();
      await db.schema.createIndex('device_commands_state').on('device_commands').column('state').execute();
      await db.schema
        .createTable('device_approvals')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('command_hash', 'text', (column) => column.notNull())
        .addColumn('device_id', 'text', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('input', 'text', (column) => column.notNull())
        .addColumn('risk', 'text', (column) => column.notNull())
        .addColumn('reason', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('requested_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint', (column) => column.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .addColumn('used_at', 'bigint')
        .addColumn('conversation', 'text')
        .addColumn('model', 'text')
        .execute();
      await db.schema.createIndex('device_approvals_tenant').on('device_approvals').columns(['tenant_id', 'requested_at']).execute();
      await db.schema
        .createTable('device_estops')
        .addColumn('tenant_id', 'text', (column) => column.primaryKey())
        .addColumn('active', 'integer', (column) => column.notNull())
        .addColumn('reason', 'text', (column) => column.notNull())
        .addColumn('changed_by', 'text', (column) => column.notNull())
        .addColumn('changed_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('seq', serialKey(db).type, serialKey(db).build)
        .addColumn('id', 'text', (column) => column.notNull().unique())
        .addColumn('at', 'bigint', (column) => column.notNull())
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('event', 'text', (column) => column.notNull())
        .addColumn('actor', 'text', (column) => column.notNull())
        .addColumn('key_id', 'text')
        .addColumn('model', 'text')
        .addColumn('conversation', 'text')
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('device_id', 'text')
        .addColumn('command_id', 'text')
        .addColumn('approval_id', 'text')
        .addColumn('detail', 'text', (column) => column.notNull())
        .addColumn('prev_hash', 'text', (column) => column.notNull())
        .addColumn('hash', 'text', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('audit_log_tenant').on('audit_log').columns(['tenant_id', 'seq']).execute();
      await db.schema.createIndex('audit_log_device').on('audit_log').columns(['tenant_id', 'device_id', 'seq']).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['audit_log', 'device_estops', 'device_approvals', 'device_commands', 'device_history', 'device_twins', 'devices']) {
        await sql`drop table ${sql.table(table)}`.execute(db);
      }
    },
  },
  '0028-audit-link': {
    async up(db: Kysely<unknown>) {
      // One entry per previous hash and tenant: two writers on one database cannot fork a chain (the
      // second gets a unique violation, reads the head again and chains to it). A database that
      // already holds a fork keeps it as history (verification reports it) and is held to the rule
      // from its current last entry on.
      const fork = await sql<{
        n: number;
      }>`select count(*) as n from (select 1 from audit_log group by tenant_id, prev_hash having count(*) > 1) forks`.execute(db);
      if (Number(fork.rows[0]?.n ?? 0) === 0) {
        await db.schema.createIndex('audit_log_link').on('audit_log').columns(['tenant_id', 'prev_hash']).unique().execute();
        return;
      }
      const last = await sql<{ seq: number | null }>`select max(seq) as seq from audit_log`.execute(db);
      await sql`create unique index audit_log_link on audit_log (tenant_id, prev_hash) where seq > ${sql.lit(Number(last.rows[0]?.seq ?? 0))}`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('audit_log_link').execute();
    },
  },
  '0049-device-history-once': {
    async up(db: Kysely<unknown>) {
      // Several control planes each appended a row for one device message. A row is now named by
      // device, version, kind and ordinal (the event's place among events at that version, 0 for a
      // change) and stored once. Rows already written twice (same device, version, kind and data)
      // keep the first; rows that share a version and kind but differ (control planes that
      // numbered differently) are kept, numbered by ordinal in the order written. Decision 0023.
      await db.schema
        .alterTable('device_history')
        .addColumn('ordinal', 'integer', (column) => column.notNull().defaultTo(0))
        .execute();
      const sameKey = sql`earlier.tenant_id = device_history.tenant_id and earlier.device_id = device_history.device_id
        and earlier.version = device_history.version and earlier.kind = device_history.kind and earlier.seq < device_history.seq`;
      await sql`delete from device_history where exists (select 1 from device_history earlier where ${sameKey} and earlier.data = device_history.data)`.execute(
        db,
      );
      await sql`update device_history set ordinal = (select count(*) from device_history earlier where ${sameKey})
        where exists (select 1 from device_history earlier where ${sameKey})`.execute(db);
      await db.schema
        .createIndex('device_history_once')
        .on('device_history')
        .columns(['tenant_id', 'device_id', 'version', 'kind', 'ordinal'])
        .unique()
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('device_history_once').execute();
      await db.schema.alterTable('device_history').dropColumn('ordinal').execute();
    },
  },
};
