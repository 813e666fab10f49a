/**
 * Migrations of device policy state (issue 17): approvals keep every grant (critical commands need
 * two keys); taints, counted steps and idempotency keys are shared by every control plane.
 * A new one takes the next number of the one ordering in `migrations.ts`.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { serialKey } from './dialect.js';

export const policyStateMigrations: Record<string, Migration> = {
  '0025-device-policy-state': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('device_approvals').addColumn('grants', 'text').execute();
      await db.schema
        .createTable('device_taints')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('until', 'bigint', (column) => column.notNull())
        .addColumn('reason', 'text', (column) => column.notNull())
        .addColumn('set_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('device_taints_pk', ['tenant_id', 'subject'])
        .execute();
      await db.schema
        .createTable('device_steps')
        .addColumn('seq', serialKey(db).type, serialKey(db).build)
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('key_subject', 'text', (column) => column.notNull())
        .addColumn('conversation', 'text')
        .addColumn('device_id', 'text', (column) => column.notNull())
        .addColumn('at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('device_steps_key').on('device_steps').columns(['tenant_id', 'key_subject', 'kind', 'at']).execute();
      await db.schema.createIndex('device_steps_conversation').on('device_steps').columns(['tenant_id', 'conversation', 'at']).execute();
      await db.schema
        .createTable('device_idempotency')
        .addColumn('tenant_id', 'text', (column) => column.notNull())
        .addColumn('key_subject', 'text', (column) => column.notNull())
        .addColumn('idempotency_key', 'text', (column) => column.notNull())
        .addColumn('request_hash', 'text', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('status', 'integer')
        .addColumn('body', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('device_idempotency_pk', ['tenant_id', 'key_subject', 'idempotency_key'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['device_idempotency', 'device_steps', 'device_taints']) await sql`drop table ${sql.table(table)}`.execute(db);
      await db.schema.alterTable('device_approvals').dropColumn('grants').execute();
    },
  },
};
