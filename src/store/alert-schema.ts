/** Table types of the alerts section (migration 0048), for Kysely. */

export interface AlertsTable {
  key: string;
  kind: string;
  subject: string;
  tenant_id: string | null;
  state: string;
  message: string;
  link: string;
  first_seen_at: number;
  last_seen_at: number;
  resolved_at: number | null;
  fired: number;
}

export interface AlertTables {
  alerts: AlertsTable;
}
