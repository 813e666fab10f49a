/** Picks the Store implementation from a database URL. */
import { join } from 'node:path';
import type { Store } from '../core/store.js';
import { openPostgresStore, redactUrl } from './postgres/open-postgres-store.js';
import { openSqliteStore } from './sqlite/open-sqlite-store.js';

/** `sqlite:PATH`, `sqlite::memory:`, `postgres://...`, or unset (SQLite at `<home>/nimbus.db`). */
export async function openStore(url: string | undefined, home: string): Promise<Store> {
  const sqlitePath = sqlitePathOf(url, home);
  if (sqlitePath !== undefined || url === undefined) return openSqliteStore(sqlitePath ?? join(home, 'nimbus.db'));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresStore(url);
  throw new Error(`Unsupported databaseUrl '${redactUrl(url)}': use sqlite:PATH (default) or postgres://USER:PASSWORD@HOST:5432/DB.`);
}

/** The SQLite file a database URL names (`:memory:` included); undefined for PostgreSQL. */
export function sqlitePathOf(url: string | undefined, home: string): string | undefined {
  if (!url) return join(home, 'nimbus.db');
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length) || join(home, 'nimbus.db');
  return undefined;
}
