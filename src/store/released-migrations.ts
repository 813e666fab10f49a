/**
 * The migrations that have shipped, in the order they ran. Databases in the field hold exactly
 * these (or a prefix), so every migration added later must sort after the last of them: Kysely
 * refuses a database whose applied names are not a prefix of the sorted list. When a release
 * lands, append its new names here and refresh the released schema snapshot
 * (`npx vitest run src/store/migrations.test.ts -u`); see docs/extending.md.
 */
export const releasedMigrations: readonly string[] = [
  '0001-request-log',
  '0002-request-route',
  '0003-tenancy',
  '0010-devices',
  '0020-pool',
  '0021-pool-autoscale',
  '0022-ledger-dimensions',
  '0023-usage-rollups',
  '0024-knowledge-files',
  '0025-device-policy-state',
  '0026-knowledge-vector-stores',
  '0027-installation',
  '0028-audit-link',
  '0029-responses',
  '0031-pool-leases',
  '0033-knowledge-store-revision',
  '0037-batches',
  '0039-apps',
  '0042-cross-control-plane',
  '0043-request-log-indexes',
  '0048-alerts',
  '0049-device-history-once',
];
