/**
 * The alerts section of the Store contract over Kysely, portable across SQLite and PostgreSQL: one
 * row per dedup key. Each transition is one conditional statement (insert if absent, update where
 * resolved, update where firing), so two evaluators racing on one key make it once: the second
 * finds no row to change and reports nothing.
 */
import type { Kysely, Selectable } from 'kysely';
import { alertKey, type AlertCondition, type AlertKind, type AlertQuery, type AlertRecord, type AlertStore } from '../core/alerts.js';
import type { AlertsTable } from './alert-schema.js';
import type { Database } from './schema.js';

function recordOf(row: Selectable<AlertsTable>): AlertRecord {
  return {
    key: row.key,
    kind: row.kind as AlertKind,
    subject: row.subject,
    tenantId: row.tenant_id,
    state: row.state === 'firing' ? 'firing' : 'resolved',
    message: row.message,
    link: row.link,
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
    fired: Number(row.fired),
  };
}

export class KyselyAlertStore implements AlertStore {
  constructor(private readonly db: Kysely<Database>) {}

  async fireAlert(condition: AlertCondition, at: number): Promise<AlertRecord | undefined> {
    const key = alertKey(condition.kind, condition.subject);
    const said = { message: condition.message, link: condition.link, tenant_id: condition.tenantId };
    const inserted = await this.db
      .insertInto('alerts')
      .values({
        key,
        kind: condition.kind,
        subject: condition.subject,
        state: 'firing',
        first_seen_at: at,
        last_seen_at: at,
        resolved_at: null,
        fired: 1,
        ...said,
      })
      .onConflict((conflict) => conflict.column('key').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return recordOf(inserted);
    // Resolved before: it fires again, as the same row (the dedup key is the row).
    const again = await this.db
      .updateTable('alerts')
      .set((row) => ({ state: 'firing', first_seen_at: at, last_seen_at: at, resolved_at: null, fired: row('fired', '+', 1), ...said }))
      .where('key', '=', key)
      .where('state', '=', 'resolved')
      .returningAll()
      .executeTakeFirst();
    if (again) return recordOf(again);
    await this.db
      .updateTable('alerts')
      .set({ last_seen_at: at, ...said })
      .where('key', '=', key)
      .where('state', '=', 'firing')
      .execute();
    return undefined;
  }

  async touchAlerts(keys: readonly string[], at: number): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .updateTable('alerts')
      .set({ last_seen_at: at })
      .where('key', 'in', [...keys])
      .where('state', '=', 'firing')
      .execute();
  }

  async resolveAlert(key: string, at: number): Promise<AlertRecord | undefined> {
    const row = await this.db
      .updateTable('alerts')
      .set({ state: 'resolved', resolved_at: at })
      .where('key', '=', key)
      .where('state', '=', 'firing')
      .returningAll()
      .executeTakeFirst();
    return row && recordOf(row);
  }

  async listAlerts(query: AlertQuery = {}): Promise<AlertRecord[]> {
    let select = this.db.selectFrom('alerts').selectAll();
    if (query.tenantId !== undefined) select = select.where('tenant_id', '=', query.tenantId);
    if (query.state !== undefined) select = select.where('state', '=', query.state);
    if (query.limit !== undefined) select = select.limit(query.limit);
    const rows = await select.orderBy('last_seen_at', 'desc').orderBy('key', 'asc').execute();
    return rows.map(recordOf);
  }
}
