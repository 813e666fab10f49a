/** Picks the Store implementation from a database URL. */
import { join } from 'node:path';
import type { Store } from '../core/store.js';
import { openPostgresStore, redactUrl } from './postgres/open-postgres-store.js';
import { openSqliteStore } from './sqlite/open-sqlite-store.js';

/** `sqlite:PATH`, `sqlite::memory:`, `postgres://...`, or unset (SQLite at `<home>/nimbus.db`). */
export async function openStore(url: string | undefined, home: string): Promise<Store> {
  if (!url) return openSqliteStore(join(home, 'nimbus.db'));
  if (url.startsWith('sqlite:')) return openSqliteStore(url.slice('sqlite:'.length) || join(home, 'nimbus.db'));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresStore(url);
  throw new Error(`Unsupported databaseUrl '${redactUrl(url)}': use sqlite:PATH (default) or postgres://USER:PASSWORD@HOST:5432/DB.`);
}
