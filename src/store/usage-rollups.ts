/**
 * The ledger summed per UTC hour (`usage_rollups`, migration 0023): one row per hour and per
 * group of the dimensions usage is read by (tenant, key, model, device class, status, app and
 * version), kept up to date in the transaction that writes the raw rows (SQLite's ledger thread,
 * PostgreSQL's batch statement). `GET /v1/usage` then sums hours instead of rows, and raw rows may
 * be pruned after a retention period while their sums stay. Null dimensions are stored as ''
 * (primary key columns cannot be null in PostgreSQL) and read back as null.
 */

export const hourMs = 3_600_000;

/** The rollup's columns: its key (the hour, then the dimensions), then the sums. */
export const rollupColumns = {
  dimensions: ['hour', 'tenant_id', 'key_id', 'model', 'device_class', 'status', 'app_id', 'app_version'],
  sums: ['requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'compute_seconds', 'cost_nano_usd'],
} as const;

/** `select` of rollup rows (in `rollupColumns` order) from ledger rows in `source` (a table, or PostgreSQL's inserted rows). */
export function rollupRowsSql(source: string): string {
  return `select (created_at / ${hourMs}) * ${hourMs}, tenant_id, coalesce(key_id, ''), model, coalesce(device_class, ''), status, coalesce(app_id, ''), coalesce(app_version, ''),
    count(*), sum(prompt_tokens), sum(cached_tokens), sum(completion_tokens), sum(compute_seconds), sum(cost_nano_usd)
    from ${source} group by 1, 2, 3, 4, 5, 6, 7, 8`;
}

/** Adds one group's sums to its rollup row (creating it): one statement for SQLite and PostgreSQL alike. */
export const rollupUpsertSql = `insert into usage_rollups (${[...rollupColumns.dimensions, ...rollupColumns.sums].join(', ')})
  values (${[...rollupColumns.dimensions, ...rollupColumns.sums].map(() => '?').join(', ')})
  on conflict (${rollupColumns.dimensions.join(', ')}) do update set ${rollupColumns.sums.map((column) => `${column} = usage_rollups.${column} + excluded.${column}`).join(', ')}`;
