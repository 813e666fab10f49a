/**
 * Does reading usage stall serving? Two builds against each other, in one script: each gets a
 * SQLite ledger of `--rows` rows (default 1.2 million, a day of this machine's gateway traffic)
 * spread over the last 24 hours, made by its own migrations, and then, alternating A and B, a
 * loop of `GET /healthz` every 5 ms is timed alone and while `GET /v1/usage` (the last 30 days,
 * by model and day, as the console asks) runs back to back. A read that runs on the request
 * thread stalls every /healthz behind it; one that runs elsewhere does not. It prints, per build,
 * /healthz p50, p99 and max with and without the usage reads, and the usage read's own p50.
 *
 *   npm run build && npx tsx bench/usage-stall.ts /tmp/dist-before dist [--rows 1200000] [--seconds 5] [--rounds 2]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { median, percentile, report, spawnListening, type Child } from './support.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rows: { type: 'string', default: '1200000' }, seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } },
});
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/usage-stall.ts DIST_A DIST_B [--rows 1200000] [--seconds 5] [--rounds 2]');
  process.exit(2);
}
const dists = positionals.map((dist) => resolve(dist)) as [string, string];
const rows = Number(values.rows);
const seconds = Number(values.seconds);
const work = mkdtempSync(join(tmpdir(), 'nimbus-bench-usage-'));

/** A ledger made by `dist`'s own migrations, filled with `rows` rows over the last day (and its hourly sums where the build keeps them). */
async function ledger(dist: string, name: string): Promise<string> {
  const path = join(work, `${name}.db`);
  const { openSqliteStore } = (await import(join(dist, 'store', 'sqlite', 'open-sqlite-store.js'))) as {
    openSqliteStore: (path: string) => Promise<{ close(): Promise<void> }>;
  };
  await (await openSqliteStore(path)).close();
  const database = new SQLite(path);
  const insert = database.prepare(
    `insert into request_log (id, created_at, kind, model, http_status, status, prompt_tokens, completion_tokens, cached_tokens, duration_ms, stream, tenant_id, key_id, device_class, compute_seconds, cost_nano_usd)
     values (?, ?, 'chat', ?, 200, 'ok', ?, ?, 0, 12.5, 1, ?, ?, 'cpu', 0.01, ?)`,
  );
  const now = Date.now();
  database.transaction(() => {
    for (let index = 0; index < rows; index += 1) {
      const tenant = index % 20;
      insert.run(
        `r${index}`,
        now - 86_400_000 + Math.floor((index * 86_400_000) / rows),
        `model-${index % 5}`,
        200,
        50,
        `t${tenant}`,
        `key_${tenant}_${index % 10}`,
        1234,
      );
    }
  })();
  const hasRollups = database.prepare("select count(*) as n from sqlite_master where name = 'usage_rollups'").get() as { n: number };
  if (hasRollups.n > 0) {
    const { rollupColumns, rollupRowsSql } = (await import(join(dist, 'store', 'usage-rollups.js'))) as {
      rollupColumns: { dimensions: readonly string[]; sums: readonly string[] };
      rollupRowsSql: (source: string) => string;
    };
    database.exec(
      `delete from usage_rollups; insert into usage_rollups (${[...rollupColumns.dimensions, ...rollupColumns.sums].join(', ')}) ${rollupRowsSql('request_log')}`,
    );
  }
  database.close();
  return path;
}

function get(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    request(url, (response) => {
      response.resume();
      response.on('end', () => resolvePromise(performance.now() - started));
    })
      .once('error', reject)
      .end();
  });
}

/** /healthz every 5 ms for `seconds`, with usage reads back to back when `withUsage`. */
async function measure(server: Child, withUsage: boolean): Promise<{ health: number[]; usage: number[] }> {
  const health: number[] = [];
  const usage: number[] = [];
  const until = performance.now() + seconds * 1000;
  const reading = (async () => {
    while (withUsage && performance.now() < until) usage.push(await get(`${server.url}/v1/usage?group_by=model,day`));
  })();
  while (performance.now() < until) {
    health.push(await get(`${server.url}/healthz`));
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 5));
  }
  await reading;
  return { health, usage };
}

const configPath = join(work, 'nimbus.json');
// No model to load: the servers answer health and usage only.
writeFileSync(configPath, JSON.stringify({ mqttUrl: 'off', hfEndpoint: 'http://127.0.0.1:9', models: [{ source: '/nonexistent.gguf' }] }));
const servers: Child[] = [];
for (const [index, dist] of dists.entries()) {
  const name = index === 0 ? 'a' : 'b';
  const path = await ledger(dist, name);
  servers.push(
    await spawnListening([
      join(dist, 'cli', 'main.js'),
      'serve',
      '--config',
      configPath,
      '--port',
      '0',
      '--home',
      join(work, name),
      '--database',
      `sqlite:${path}`,
    ]),
  );
}
const results = servers.map(() => ({ alone: [] as number[], loaded: [] as number[], usage: [] as number[] }));
// Warm both (JIT, SQLite's page cache).
for (const server of servers) await get(`${server.url}/v1/usage?group_by=model,day`);
for (let round = 0; round < Number(values.rounds); round += 1) {
  for (const [index, server] of servers.entries()) {
    results[index]!.alone.push(...(await measure(server, false)).health);
    const loaded = await measure(server, true);
    results[index]!.loaded.push(...loaded.health);
    results[index]!.usage.push(...loaded.usage);
  }
}
for (const server of servers) server.process.kill('SIGTERM');
const figures: Record<string, number> = { rows };
for (const [index, result] of results.entries()) {
  const name = index === 0 ? 'a' : 'b';
  figures[`${name}_healthz_alone_p50_ms`] = median(result.alone);
  figures[`${name}_healthz_alone_p99_ms`] = percentile(result.alone, 0.99);
  figures[`${name}_healthz_with_usage_p50_ms`] = median(result.loaded);
  figures[`${name}_healthz_with_usage_p99_ms`] = percentile(result.loaded, 0.99);
  figures[`${name}_healthz_with_usage_max_ms`] = Math.max(...result.loaded);
  figures[`${name}_usage_p50_ms`] = median(result.usage);
  figures[`${name}_usage_reads`] = result.usage.length;
}
figures.b_vs_a_healthz_with_usage_p99 = figures.b_healthz_with_usage_p99_ms! / figures.a_healthz_with_usage_p99_ms!;
report('usage reads against /healthz', figures);
