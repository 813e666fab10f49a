/**
 * The usage ledger's write path, on SQLite and PostgreSQL, in one script: rows per second when
 * a burst is recorded at once (batched inserts) with the CPU each row costs on the request
 * thread and in all threads, and, at a steady request rate, the lag from a request's end (its
 * row recorded) to that row being queryable, as the largest and the 99th percentile over every
 * probe.
 *
 *   npx tsx bench/ledger.ts [--rows 50000] [--rate 2000] [--seconds 5]
 *
 * PostgreSQL at NIMBUS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); it
 * is skipped with a message when unreachable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { RequestLogEntry, Store } from '../src/core/store.js';
import { openPostgresStore } from '../src/store/postgres/open-postgres-store.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { cpuUs, ledgerRow } from './ledger-rows.js';
import { median, percentile, report } from './support.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '50000' }, rate: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '5' } },
});
const burstRows = Number(values.rows);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const postgresUrl = process.env.NIMBUS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A ledger row as serveGeneration writes it. */
const row = (id: string): RequestLogEntry => ledgerRow(id);

/**
 * A burst recorded at once, until all are durable: rows per second, and CPU per row on the
 * request thread (recording, encoding, handing over) and in all threads (with SQLite's ledger
 * thread, the inserts). The bench's own row objects are counted too (~1 us).
 */
async function burst(store: Store): Promise<{ rowsPerSecond: number; requestThreadUs: number; allThreadsUs: number }> {
  const started = performance.now();
  const mainBefore = cpuUs(true);
  const allBefore = cpuUs(false);
  for (let index = 0; index < burstRows; index += 1) store.recordRequest(row(`burst-${index}`));
  await store.flush();
  return {
    rowsPerSecond: burstRows / ((performance.now() - started) / 1000),
    requestThreadUs: (cpuUs(true) - mainBefore) / burstRows,
    allThreadsUs: (cpuUs(false) - allBefore) / burstRows,
  };
}

/** Records `rate` rows per second for `seconds`; polls the newest row to see when each probe became queryable. */
async function lag(store: Store): Promise<{ max: number; p99: number; p50: number; probes: number }> {
  const recordedAt = new Map<number, number>();
  const lags: number[] = [];
  let written = 0;
  let visible = -1;
  let writing = true;
  const reader = (async () => {
    while (writing || visible < written - 1) {
      const [newest] = await store.listRequests({ limit: 1 });
      const index = newest ? Number(newest.id.slice('lag-'.length)) : -1;
      const now = performance.now();
      for (let probe = visible + 1; probe <= index; probe += 1) {
        const at = recordedAt.get(probe);
        if (at !== undefined) lags.push(now - at);
      }
      visible = Math.max(visible, index);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const started = performance.now();
  const total = Math.round(rate * seconds);
  while (written < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; written < due; written += 1) {
      // Every 10th request is a probe; its clock starts when its row is recorded (the request's end).
      if (written % 10 === 0) recordedAt.set(written, performance.now());
      store.recordRequest(row(`lag-${written}`));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  writing = false;
  await reader;
  return { max: Math.max(...lags), p99: percentile(lags, 0.99), p50: median(lags), probes: lags.length };
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    console.warn(`ledger: PostgreSQL at ${postgresUrl} is not reachable (${(error as Error).message}); its figures are skipped.`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const folder = mkdtempSync(join(tmpdir(), 'nimbus-bench-ledger-'));
const schemas: string[] = [];
const backends: Array<[string, () => Promise<Store>]> = [['sqlite', () => openSqliteStore(join(folder, `ledger-${Date.now()}.db`))]];
if (await postgresReachable()) {
  backends.push([
    'postgres',
    () => {
      const schema = `bench_ledger_${Date.now().toString(36)}`;
      schemas.push(schema);
      return openPostgresStore(postgresUrl, { schema });
    },
  ]);
}

for (const [name, open] of backends) {
  const burstStore = await open();
  await burst(burstStore); // warm-up: JIT, prepared pages
  const measured = await burst(burstStore);
  await burstStore.close();
  const lagStore = await open();
  const figures = await lag(lagStore);
  await lagStore.close();
  report(`ledger ${name}`, {
    burst_rows_per_s: measured.rowsPerSecond,
    burst_rows: burstRows,
    burst_cpu_us_per_row_request_thread: measured.requestThreadUs,
    burst_cpu_us_per_row_all_threads: measured.allThreadsUs,
    steady_rate_rows_per_s: rate,
    lag_max_ms: figures.max,
    lag_p99_ms: figures.p99,
    lag_p50_ms: figures.p50,
    probes: figures.probes,
  });
}

if (schemas.length > 0) {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  for (const schema of schemas) await client.query(`drop schema if exists ${schema} cascade`);
  await client.end();
}
rmSync(folder, { recursive: true, force: true });
