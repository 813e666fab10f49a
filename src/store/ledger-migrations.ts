/**
 * Migrations of the ledger (the request log) after the first release's: the dimensions every
 * billed call records through the one accounting path (src/tenancy/accounting/). Planned once for
 * the callers that fill them: the model asked for beside the one that served (fallbacks), the
 * client request a call was made for (tool-loop turns, a response's turns, a batch's lines), the
 * app and its version, and the batch.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { doubleType } from './dialect.js';
import { rollupColumns, rollupRowsSql } from './usage-rollups.js';

/** Migration names -> migrations; merged into the store's list in `migrations.ts`. */
export const ledgerDimensionMigrations: Record<string, Migration> = {
  '0022-ledger-dimensions': {
    async up(db: Kysely<unknown>) {
      const ledger = (): ReturnType<typeof db.schema.alterTable> => db.schema.alterTable('request_log');
      await ledger().addColumn('requested_model', 'text').execute();
      await ledger().addColumn('parent_id', 'text').execute();
      await ledger().addColumn('app_id', 'text').execute();
      await ledger().addColumn('app_version', 'text').execute();
      await ledger().addColumn('batch_id', 'text').execute();
      // "Everything billed for this client request" is `id = X or parent_id = X`.
      await db.schema.createIndex('request_log_parent_id').on('request_log').column('parent_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('request_log_parent_id').execute();
      for (const column of ['batch_id', 'app_version', 'app_id', 'parent_id', 'requested_model']) {
        await db.schema.alterTable('request_log').dropColumn(column).execute();
      }
    },
  },
  '0023-usage-rollups': {
    async up(db: Kysely<unknown>) {
      // The ledger summed per hour and per group of every dimension usage reads group or filter by,
      // kept as rows are written (in the same transaction): usage reads sum hours, not rows, and
      // raw rows can be pruned after a retention period while their sums stay.
      let table = db.schema.createTable('usage_rollups').addColumn('hour', 'bigint', (column) => column.notNull());
      for (const column of rollupColumns.dimensions.slice(1)) table = table.addColumn(column, 'text', (definition) => definition.notNull());
      for (const column of rollupColumns.sums) {
        table = table.addColumn(column, column === 'compute_seconds' ? doubleType(db) : 'bigint', (definition) => definition.notNull().defaultTo(0));
      }
      // The builder's column type grows only with literal names; these come from `rollupColumns`.
      await table.addPrimaryKeyConstraint('usage_rollups_pk', [...rollupColumns.dimensions] as never).execute();
      // Rows written before this migration: summed once, here.
      await sql
        .raw(`insert into usage_rollups (${[...rollupColumns.dimensions, ...rollupColumns.sums].join(', ')}) ${rollupRowsSql('request_log')}`)
        .execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('usage_rollups').execute();
    },
  },
};
