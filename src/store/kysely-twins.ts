/**
 * Twins and their history over Kysely (SQLite and PostgreSQL), for `KyselyDeviceStore`. Several
 * control planes see every device message and write the same twin: a twin is written only over
 * an older version of itself, and a history row is stored once per device, version, kind and
 * ordinal (migration 0049), whichever control plane writes it first. Decision 0023.
 */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { TwinHistoryEntry, TwinRecord } from '../core/device-store.js';
import type { DeviceTwinsTable } from './device-schema.js';
import type { Database } from './schema.js';

const json = (value: unknown): string => JSON.stringify(value ?? null);
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** Writes each twin over an older version of itself; returns what the store holds for those it did not take. */
export async function putTwins(db: Kysely<Database>, twins: readonly TwinRecord[]): Promise<TwinRecord[]> {
  if (twins.length === 0) return [];
  return db.transaction().execute(async (transaction) => {
    const kept: TwinRecord[] = [];
    for (const twin of twins) {
      const row = twinToRow(twin);
      // One statement: a newer version replaces the row; the same version (a repeated report) moves
      // reported_at forward only; an older one changes nothing and returns nothing.
      const stored = await transaction
        .insertInto('device_twins')
        .values(row)
        .onConflict((conflict) =>
          conflict
            .columns(['tenant_id', 'device_id'])
            .doUpdateSet({
              desired: newer('desired'),
              reported: newer('reported'),
              connection: newer('connection'),
              updated_at: newer('updated_at'),
              reported_at: sql`case when device_twins.version < excluded.version or device_twins.reported_at is null
                or device_twins.reported_at < excluded.reported_at then excluded.reported_at else device_twins.reported_at end`,
              version: newer('version'),
            })
            .where('device_twins.version', '<=', row.version),
        )
        .returningAll()
        .executeTakeFirst();
      if (
        stored &&
        Number(stored.version) === twin.version &&
        stored.desired === row.desired &&
        stored.reported === row.reported &&
        stored.connection === row.connection
      )
        continue;
      const held =
        stored ??
        (await transaction
          .selectFrom('device_twins')
          .selectAll()
          .where('tenant_id', '=', twin.tenantId)
          .where('device_id', '=', twin.deviceId)
          .executeTakeFirst());
      if (held) kept.push(twinFromRow(held));
    }
    return kept;
  });
}

/** The stored column, or the written one when the written twin is newer (in `on conflict do update`). */
function newer(column: 'desired' | 'reported' | 'connection' | 'updated_at' | 'version'): RawBuilder<never> {
  return sql`case when device_twins.version < excluded.version then ${sql.ref(`excluded.${column}`)} else ${sql.ref(`device_twins.${column}`)} end`;
}

export async function listTwins(db: Kysely<Database>, tenantId?: string): Promise<TwinRecord[]> {
  let select = db.selectFrom('device_twins').selectAll();
  if (tenantId !== undefined) select = select.where('tenant_id', '=', tenantId);
  return (await select.orderBy('tenant_id').orderBy('device_id').execute()).map(twinFromRow);
}

/** Appends history rows; one already stored (by another control plane) is left as it is. */
export async function appendTwinHistory(db: Kysely<Database>, entries: readonly TwinHistoryEntry[]): Promise<void> {
  // 100 rows of 7 columns per statement stays under SQLite's bound-parameter limit.
  for (let start = 0; start < entries.length; start += 100) {
    const rows = entries.slice(start, start + 100).map((entry) => ({
      tenant_id: entry.tenantId,
      device_id: entry.deviceId,
      version: entry.version,
      ordinal: entry.ordinal ?? 0,
      at: entry.at,
      kind: entry.kind,
      data: json(entry.data),
    }));
    await db
      .insertInto('device_history')
      .values(rows)
      .onConflict((conflict) => conflict.columns(['tenant_id', 'device_id', 'version', 'kind', 'ordinal']).doNothing())
      .execute();
  }
}

export async function listTwinHistory(
  db: Kysely<Database>,
  query: { tenantId: string; deviceId: string; since?: number; limit?: number },
): Promise<TwinHistoryEntry[]> {
  let select = db.selectFrom('device_history').selectAll().where('tenant_id', '=', query.tenantId).where('device_id', '=', query.deviceId);
  if (query.since !== undefined) select = select.where('at', '>=', query.since);
  const rows = await select
    .orderBy('seq', 'desc')
    .limit(query.limit ?? 100)
    .execute();
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    version: Number(row.version),
    ...(Number(row.ordinal) > 0 ? { ordinal: Number(row.ordinal) } : {}),
    at: Number(row.at),
    kind: row.kind as TwinHistoryEntry['kind'],
    data: parse(row.data),
  }));
}

function twinToRow(twin: TwinRecord): DeviceTwinsTable {
  return {
    tenant_id: twin.tenantId,
    device_id: twin.deviceId,
    desired: json(twin.desired),
    reported: json(twin.reported),
    version: twin.version,
    connection: twin.connection,
    reported_at: twin.reportedAt,
    updated_at: twin.updatedAt,
  };
}

function twinFromRow(row: Selectable<DeviceTwinsTable>): TwinRecord {
  return {
    tenantId: row.tenant_id,
    deviceId: row.device_id,
    desired: parse(row.desired) as Record<string, unknown>,
    reported: parse(row.reported) as Record<string, unknown>,
    version: Number(row.version),
    connection: row.connection as TwinRecord['connection'],
    reportedAt: row.reported_at === null ? null : Number(row.reported_at),
    updatedAt: Number(row.updated_at),
  };
}
