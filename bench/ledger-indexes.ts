/**
 * What the request-log view's indexes (migration 0043, decision 0019) cost the ledger's writes:
 * paired rounds of the same burst written into two stores, one with the indexes 0043 made and one
 * with those replaced by the four it dropped (the ledger as it was before 0043), alternating which
 * goes first. Prints, per database, rows per second of each and the ratio (with / without) as the
 * median of the rounds' ratios and its quartiles; on SQLite also CPU per row in all threads (the
 * ledger thread does the inserts). PostgreSQL's inserts run in the server process, so only its
 * rows per second is a cost figure.
 *
 *   npx tsx bench/ledger-indexes.ts [--rows 20000] [--rounds 8] [--fill 100000]
 *
 * `--fill` rows are written into both stores first, so the indexes are not tiny. Rows are spread
 * over 20 tenants, 200 keys, 4 models and 3 statuses, as a shared ledger's would be.
 * PostgreSQL at NIMBUS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
 * skipped with a message when unreachable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Store } from '../src/core/store.js';
import { openPostgresStore } from '../src/store/postgres/open-postgres-store.js';
import { replacedRequestLogIndexes, requestLogIndexes } from '../src/store/request-log-migrations.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { cpuUs, ledgerRow } from './ledger-rows.js';
import { median, percentile, report } from './support.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '8' }, fill: { type: 'string', default: '100000' } },
});
const burstRows = Number(values.rows);
const rounds = Number(values.rounds);
const fillRows = Number(values.fill);
const postgresUrl = process.env.NIMBUS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const statuses = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'error', 'cancelled'] as const;
let written = 0;

/** Writes `count` rows and waits until they are durable: rows per second and CPU per row in all threads. */
async function burst(store: Store, count: number): Promise<{ rowsPerSecond: number; cpuUsPerRow: number }> {
  const started = performance.now();
  const cpuBefore = cpuUs(false);
  for (let index = 0; index < count; index += 1) {
    const n = (written += 1);
    store.recordRequest(
      ledgerRow(`row-${n}`, {
        tenantId: `tenant-${n % 20}`,
        keyId: `key-${n % 200}`,
        model: `model-${n % 4}`,
        status: statuses[n % statuses.length]!,
        appId: n % 5 === 0 ? `app-${n % 7}` : null,
      }),
    );
  }
  await store.flush();
  return { rowsPerSecond: count / ((performance.now() - started) / 1000), cpuUsPerRow: (cpuUs(false) - cpuBefore) / count };
}

/** The DDL that turns a ledger made by today's migrations back into the one before 0043 (0043's `down`). */
function withoutIndexes(qualify: (name: string) => string): string[] {
  return [
    ...replacedRequestLogIndexes.map((index) => `create index ${index.name} on ${qualify('request_log')} (${index.columns.join(', ')})`),
    ...requestLogIndexes.map((index) => `drop index ${qualify(index.name)}`),
  ];
}

interface Variant {
  name: 'with' | 'without';
  store: Store;
}

async function openSqlite(folder: string, name: Variant['name']): Promise<Variant> {
  const path = join(folder, `ledger-${name}.db`);
  await (await openSqliteStore(path)).close();
  if (name === 'without') {
    const database = new Database(path);
    for (const statement of withoutIndexes((table) => table)) database.exec(statement);
    database.close();
  }
  return { name, store: await openSqliteStore(path) };
}

async function openPostgres(schemas: string[], name: Variant['name']): Promise<Variant> {
  const schema = `bench_ledger_idx_${name}_${Date.now().toString(36)}`;
  schemas.push(schema);
  const store = await openPostgresStore(postgresUrl, { schema });
  if (name === 'without') {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    for (const statement of withoutIndexes((table) => `${schema}.${table}`)) await client.query(statement);
    await client.end();
  }
  return { name, store };
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    console.warn(`ledger-indexes: PostgreSQL at ${postgresUrl} is not reachable (${(error as Error).message}); its figures are skipped.`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const quartiles = (values: number[]): string => `${percentile(values, 0.25).toFixed(3)}-${percentile(values, 0.75).toFixed(3)}`;

/** Paired rounds on two stores of one database; reports each side and the with/without ratios. */
async function compare(label: string, open: (name: Variant['name']) => Promise<Variant>): Promise<void> {
  const variants = [await open('with'), await open('without')];
  for (const variant of variants) {
    await burst(variant.store, fillRows);
    await burst(variant.store, burstRows); // warm-up at the filled size
  }
  const figures = { with: [] as Array<{ rowsPerSecond: number; cpuUsPerRow: number }>, without: [] as Array<{ rowsPerSecond: number; cpuUsPerRow: number }> };
  const speedRatios: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) figures[variant.name].push(await burst(variant.store, burstRows));
    const withRound = figures.with[round]!;
    const withoutRound = figures.without[round]!;
    speedRatios.push(withRound.rowsPerSecond / withoutRound.rowsPerSecond);
    cpuRatios.push(withRound.cpuUsPerRow / withoutRound.cpuUsPerRow);
  }
  for (const variant of variants) await variant.store.close();
  report(`ledger-indexes ${label}`, {
    rounds,
    burst_rows: burstRows,
    filled_rows: fillRows,
    rows_per_s_with_0043: median(figures.with.map((figure) => figure.rowsPerSecond)),
    rows_per_s_without: median(figures.without.map((figure) => figure.rowsPerSecond)),
    rows_per_s_ratio_median: median(speedRatios),
    rows_per_s_ratio_iqr: quartiles(speedRatios),
    ...(label === 'sqlite'
      ? {
          cpu_us_per_row_with_0043: median(figures.with.map((figure) => figure.cpuUsPerRow)),
          cpu_us_per_row_without: median(figures.without.map((figure) => figure.cpuUsPerRow)),
          cpu_per_row_ratio_median: median(cpuRatios),
          cpu_per_row_ratio_iqr: quartiles(cpuRatios),
        }
      : {}),
  });
}

const folder = mkdtempSync(join(tmpdir(), 'nimbus-bench-ledger-indexes-'));
const schemas: string[] = [];
try {
  await compare('sqlite', (name) => openSqlite(folder, name));
  if (await postgresReachable()) await compare('postgres', (name) => openPostgres(schemas, name));
} finally {
  if (schemas.length > 0) {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    for (const schema of schemas) await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
  rmSync(folder, { recursive: true, force: true });
}
