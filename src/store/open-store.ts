/** Picks the Store implementation from a database URL. */
import { join } from 'node:path';
import type { Store } from '../core/store.js';
import { openSqliteStore } from './sqlite/open-sqlite-store.js';

/** `sqlite:PATH`, `sqlite::memory:`, or unset (SQLite at `<home>/nimbus.db`). */
export async function openStore(url: string | undefined, home: string): Promise<Store> {
  if (!url) return openSqliteStore(join(home, 'nimbus.db'));
  if (url.startsWith('sqlite:')) return openSqliteStore(url.slice('sqlite:'.length) || join(home, 'nimbus.db'));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new Error('PostgreSQL is not available in this build yet (it arrives with the tenancy work); use sqlite:PATH or leave databaseUrl unset.');
  }
  throw new Error(`Unsupported databaseUrl '${url.replace(/\/\/[^@]*@/, '//***@')}': use sqlite:PATH (default) or postgres://USER@HOST/DB.`);
}
