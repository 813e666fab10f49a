/**
 * The request-log view's reads at scale, on SQLite and PostgreSQL in one script: the ledger is
 * filled with `--rows` rows (one INSERT ... SELECT generated in the database, so a million takes
 * seconds, not minutes), then each filter of `GET /v1/requests` is read through the Store as the
 * route reads it: a first page and the next pages that follow its cursor, `--samples` times with
 * different values, p50 and p95 per filter. Goal (issue 28): p95 at most 200 ms at 1,000,000 rows.
 * Prints the indexes the view relies on (migration 0043) and each database's plan of one page.
 *
 *   npm run build && npx tsx bench/request-log.ts [--rows 1000000] [--samples 20] [--pages 5] [--limit 50]
 *
 * Rows span 30 days: 20 tenants, 200 keys (10 per tenant), 10 models, 97% ok / 2% error /
 * 0.8% refused / 0.2% cancelled, 5% of them an app's; pairs of rows share a millisecond. SQLite is
 * read as deployed (no ANALYZE: the store never runs one); PostgreSQL after ANALYZE, which
 * autovacuum runs within a minute of a fill like this. PostgreSQL at NIMBUS_TEST_POSTGRES_URL
 * (default postgres://postgres@127.0.0.1:5432/test); skipped with a message when unreachable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { RequestLogSearch, Store } from '../src/core/store.js';
import type * as PostgresStoreModule from '../src/store/postgres/open-postgres-store.js';
import type * as SqliteStoreModule from '../src/store/sqlite/open-sqlite-store.js';
import { requestLogIndexes } from '../src/store/request-log-migrations.js';
import { median, percentile, report } from './support.js';

// The built stores (npm run build first), as a server runs them: under tsx, SQLite's ledger thread
// does not start (its worker source is transformed) and reads would run on this thread instead.
const built = (path: string): string => new URL(`../dist/${path}`, import.meta.url).href;
const sqliteModule: typeof SqliteStoreModule = await import(built('store/sqlite/open-sqlite-store.js'));
const postgresModule: typeof PostgresStoreModule = await import(built('store/postgres/open-postgres-store.js'));
const { openSqliteStore } = sqliteModule;
const { openPostgresStore } = postgresModule;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '20' },
    pages: { type: 'string', default: '5' },
    limit: { type: 'string', default: '50' },
  },
});
const rows = Number(values.rows);
const samples = Number(values.samples);
const pages = Number(values.pages);
const limit = Number(values.limit);
const postgresUrl = process.env.NIMBUS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const start = Date.UTC(2026, 10, 1);
const spanMs = 30 * 86_400_000;
/** Milliseconds between pairs of rows. */
const stepMs = Math.max(1, Math.floor(spanMs / Math.ceil(rows / 2)));

/** The fill's column expressions of row `n` (0-based), the same SQL on both databases but for the id. */
function fillColumns(idExpression: string): string {
  return `${idExpression}, ${start} + (n / 2) * ${stepMs}, 'chat',
    'model-' || (((n / 20) * 7) % 10), case when n % 1000 < 970 then 200 when n % 1000 < 990 then 502 when n % 1000 < 998 then 429 else 499 end,
    case when n % 1000 < 970 then 'ok' when n % 1000 < 990 then 'error' when n % 1000 < 998 then 'refused' else 'cancelled' end,
    100 + n % 50, 20 + n % 30, 0, 12.5, 250.5, 'stop', 1, null, 'model#0', null, 0,
    't' || (n % 20), 'key_' || (n % 200), null, null, 'cpu', 0.25, 1000 + n % 500, null, null,
    case when (n / 7) % 20 = 3 then 'tutor' else null end, null, null`;
}
const columns = `id, created_at, kind, model, http_status, status, prompt_tokens, completion_tokens, cached_tokens, ttft_ms, duration_ms,
  finish_reason, stream, error_code, served_by, route, usage_estimated, tenant_id, key_id, deployment, worker, device_class,
  compute_seconds, cost_nano_usd, requested_model, parent_id, app_id, app_version, batch_id`;

async function fillSqlite(path: string): Promise<void> {
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = OFF');
  database.exec(`with recursive s(n) as (select 0 union all select n + 1 from s where n < ${rows - 1})
    insert into request_log (${columns}) select ${fillColumns(`'req_' || printf('%09d', n)`)} from s`);
  database.close();
}

async function fillPostgres(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl, options: `-c search_path=${schema}` });
  await client.connect();
  await client.query(
    `insert into request_log (${columns}) select ${fillColumns(`'req_' || lpad(n::text, 9, '0')`)} from generate_series(0::bigint, ${rows - 1}) as n`,
  );
  await client.query('analyze request_log');
  await client.end();
}

/** A filter of the view and the values its samples take. */
interface Filter {
  name: string;
  search(sample: number): Omit<RequestLogSearch, 'limit' | 'after'>;
}

const day = 86_400_000;
const filters: Filter[] = [
  { name: 'none', search: () => ({}) },
  { name: 'tenant', search: (sample) => ({ tenantId: `t${sample % 20}` }) },
  { name: 'key', search: (sample) => ({ keyIds: [`key_${(sample * 37) % 200}`] }) },
  { name: 'key prefix (2 keys)', search: (sample) => ({ keyIds: [`key_${sample % 200}`, `key_${(sample + 100) % 200}`] }) },
  { name: 'model', search: (sample) => ({ model: `model-${sample % 10}` }) },
  { name: 'status error', search: () => ({ status: 'error' }) },
  { name: 'status cancelled', search: () => ({ status: 'cancelled' }) },
  { name: 'app', search: () => ({ appId: 'tutor' }) },
  { name: 'time range (1 day)', search: (sample) => ({ since: start + (sample % 29) * day, until: start + ((sample % 29) + 1) * day }) },
  { name: 'tenant + status error', search: (sample) => ({ tenantId: `t${sample % 20}`, status: 'error' }) },
  { name: 'tenant + model', search: (sample) => ({ tenantId: `t${sample % 20}`, model: `model-${(sample * 3) % 10}` }) },
  {
    name: 'tenant + 1 day',
    search: (sample) => ({ tenantId: `t${sample % 20}`, since: start + (sample % 29) * day, until: start + ((sample % 29) + 1) * day }),
  },
];

/** One filter's figures: milliseconds per page read. */
interface FilterFigures {
  filter: string;
  firstP50: number;
  firstP95: number;
  nextP50: number;
  nextP95: number;
}

/** First page and next pages of every filter, and lookups by exact id. */
async function measure(store: Store): Promise<FilterFigures[]> {
  const figures: FilterFigures[] = [];
  // Warm-up: the first reads open pages of each index.
  for (const filter of filters) await store.searchRequests({ ...filter.search(0), limit });
  for (const filter of filters) {
    const first: number[] = [];
    const next: number[] = [];
    for (let sample = 0; sample < samples; sample += 1) {
      const search = filter.search(sample + 1);
      let started = performance.now();
      let page = await store.searchRequests({ ...search, limit: limit + 1 });
      first.push(performance.now() - started);
      for (let index = 0; index < pages && page.length > limit; index += 1) {
        const last = page[limit - 1]!;
        started = performance.now();
        page = await store.searchRequests({ ...search, limit: limit + 1, after: { createdAt: last.createdAt, id: last.id } });
        next.push(performance.now() - started);
      }
    }
    figures.push({ filter: filter.name, firstP50: median(first), firstP95: percentile(first, 0.95), nextP50: median(next), nextP95: percentile(next, 0.95) });
  }
  const lookups: number[] = [];
  for (let sample = 0; sample < samples; sample += 1) {
    const started = performance.now();
    await store.getRequest(`req_${String(Math.floor((sample / samples) * rows)).padStart(9, '0')}`);
    lookups.push(performance.now() - started);
  }
  figures.push({ filter: 'exact id', firstP50: median(lookups), firstP95: percentile(lookups, 0.95), nextP50: Number.NaN, nextP95: Number.NaN });
  return figures;
}

/** The figures as a table; the worst p95 against the 200 ms goal. */
function print(name: string, fillSeconds: number, figures: readonly FilterFigures[]): void {
  console.log(
    `\nrequest-log ${name}: ${rows} rows filled in ${fillSeconds.toFixed(1)} s; page of ${limit}, ${samples} samples x (1 first + up to ${pages} next pages)`,
  );
  console.log(`  ${'filter'.padEnd(24)} ${'first p50'.padStart(10)} ${'first p95'.padStart(10)} ${'next p50'.padStart(10)} ${'next p95'.padStart(10)}  (ms)`);
  const cell = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(2)).padStart(10);
  for (const row of figures) console.log(`  ${row.filter.padEnd(24)} ${cell(row.firstP50)} ${cell(row.firstP95)} ${cell(row.nextP50)} ${cell(row.nextP95)}`);
  const worst = Math.max(...figures.flatMap((row) => [row.firstP95, Number.isNaN(row.nextP95) ? 0 : row.nextP95]));
  report(`request-log ${name}`, { rows, worst_p95_ms: worst, goal_ms: 200, within_goal: worst <= 200 ? 'yes' : 'no' });
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    console.warn(`request-log: PostgreSQL at ${postgresUrl} is not reachable (${(error as Error).message}); its figures are skipped.`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

console.log(`request-log: indexes of the view (migration 0043):`);
for (const index of requestLogIndexes) console.log(`  ${index.name} (${index.columns.join(', ')})`);
console.log('  request_log_id (unique, since 0001): exact id and the detail view');

const folder = mkdtempSync(join(tmpdir(), 'nimbus-bench-request-log-'));
try {
  const path = join(folder, 'ledger.db');
  await (await openSqliteStore(path)).close();
  let started = performance.now();
  await fillSqlite(path);
  const sqliteFill = (performance.now() - started) / 1000;
  const sqlite = await openSqliteStore(path);
  print('sqlite', sqliteFill, await measure(sqlite));
  await sqlite.close();
  const plan = new SQLite(path, { readonly: true });
  const explained = plan
    .prepare(`explain query plan select * from request_log where tenant_id = ? and status = ? order by created_at desc, id desc limit 51`)
    .all('t3', 'error');
  console.log(`sqlite plan (tenant + status): ${explained.map((row) => (row as { detail: string }).detail).join('; ')}`);
  plan.close();

  if (await postgresReachable()) {
    const schema = `bench_request_log_${Date.now().toString(36)}`;
    await (await openPostgresStore(postgresUrl, { schema })).close();
    started = performance.now();
    await fillPostgres(schema);
    const postgresFill = (performance.now() - started) / 1000;
    const postgres = await openPostgresStore(postgresUrl, { schema });
    try {
      print('postgres', postgresFill, await measure(postgres));
    } finally {
      await postgres.close();
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    }
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
