/**
 * Two builds of Nimbus against each other, in one script, for a change to the gateway's hot path:
 * both serve the same fixed-reply upstream (bench/fixed-upstream.ts), and short autocannon runs at
 * 32 connections alternate between them, A then B, `--pairs` times. This machine's speed moves
 * by +-10% from one run to the next, and by 2x over a day, so one build's figure from this
 * morning says little about another's from this afternoon; two runs seconds apart do. It prints
 * the median over pairs of B's main-thread CPU per request divided by A's (with the
 * interquartile range: a range that includes 1.0 means "no difference measured"), and the ratio
 * of their median requests/s. `--tenancy`: every request with a key, all seven limits on the key
 * and on its tenant, prices and the ledger (as bench/tenancy-overhead.ts); `--redis URL`: the
 * limit counters in Redis (both builds on the same one).
 *
 *   npm run build && cp -r dist /tmp/dist-before   # then change the code
 *   npm run build && npx tsx bench/gateway-ab.ts /tmp/dist-before dist [--variant whole|stream] [--seconds 2] [--pairs 16] [--tenancy] [--redis redis://127.0.0.1:6379]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuMs, limitedBenchKey, median, percentile, report, repoRoot, spawnListening, type Child } from './support.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    variant: { type: 'string', default: 'whole' },
    seconds: { type: 'string', default: '2' },
    pairs: { type: 'string', default: '16' },
    tenancy: { type: 'boolean', default: false },
    redis: { type: 'string' },
  },
});
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/gateway-ab.ts DIST_A DIST_B [--variant whole|stream] [--seconds 2] [--pairs 16] [--tenancy] [--redis URL]');
  process.exit(2);
}
const [distA, distB] = positionals.map((dist) => resolve(dist)) as [string, string];
const seconds = Number(values.seconds);
const pairs = Number(values.pairs);
const request = { model: 'fixed-model', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 };
const body = JSON.stringify(values.variant === 'stream' ? { ...request, stream: true, stream_options: { include_usage: true } } : request);

const work = mkdtempSync(join(tmpdir(), 'nimbus-bench-gateway-ab-'));
const upstream = await spawnListening(['--import', 'tsx', join(repoRoot, 'bench', 'fixed-upstream.ts')]);
const configPath = join(work, 'nimbus.json');
writeFileSync(
  configPath,
  JSON.stringify({
    providers: [{ id: 'fixed', baseUrl: `${upstream.url}/v1` }],
    upstreamModels: [{ id: 'fixed-model', provider: 'fixed' }],
    mqttUrl: 'off',
    ...(values.tenancy ? { prices: { 'fixed-model': { input: 0.15, output: 0.6 } } } : {}),
  }),
);

/** A build serving, with the headers its load carries (a limited key's, under --tenancy). */
interface Build extends Child {
  headers: Record<string, string>;
}

async function serve(dist: string, name: string): Promise<Build> {
  const args = [join(dist, 'cli', 'main.js'), 'serve', '--config', configPath, '--port', '0', '--home', join(work, name), '--log-level', 'info'];
  const child = await spawnListening(values.redis ? [...args, '--redis', values.redis] : args, join(work, `${name}.log`));
  if (!values.tenancy) return { ...child, headers: { 'content-type': 'application/json' } };
  const key = await limitedBenchKey(child.url);
  return { ...child, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` } };
}
const builds = { a: await serve(distA, 'a'), b: await serve(distB, 'b') };

async function load(build: Build, duration: number): Promise<{ rps: number; mainUs: number }> {
  const before = cpuMs(build.process, true);
  const result = await autocannon({
    url: `${build.url}/v1/chat/completions`,
    connections: 32,
    duration,
    method: 'POST',
    headers: build.headers,
    body,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return { rps: result.requests.average, mainUs: ((cpuMs(build.process, true) - before) * 1000) / (result['2xx'] || 1) };
}

// Warm both (JIT, connection pools) before measuring.
await load(builds.a, 2);
await load(builds.b, 2);
const runs: Array<{ a: { rps: number; mainUs: number }; b: { rps: number; mainUs: number } }> = [];
for (let pair = 0; pair < pairs; pair += 1) runs.push({ a: await load(builds.a, seconds), b: await load(builds.b, seconds) });

const cpuRatios = runs.map((run) => run.b.mainUs / run.a.mainUs);
const rpsRatios = runs.map((run) => run.b.rps / run.a.rps);
report(`gateway A/B ${values.variant}${values.tenancy ? ' tenancy' : ''}${values.redis ? ' redis' : ''}`, {
  b_vs_a_main_thread_cpu: median(cpuRatios),
  b_vs_a_main_thread_cpu_q1: percentile(cpuRatios, 0.25),
  b_vs_a_main_thread_cpu_q3: percentile(cpuRatios, 0.75),
  b_vs_a_rps: median(runs.map((run) => run.b.rps)) / median(runs.map((run) => run.a.rps)),
  b_vs_a_rps_pairs: median(rpsRatios),
  b_vs_a_rps_pairs_q1: percentile(rpsRatios, 0.25),
  b_vs_a_rps_pairs_q3: percentile(rpsRatios, 0.75),
  a_main_thread_cpu_us_per_request: median(runs.map((run) => run.a.mainUs)),
  b_main_thread_cpu_us_per_request: median(runs.map((run) => run.b.mainUs)),
  a_rps: median(runs.map((run) => run.a.rps)),
  b_rps: median(runs.map((run) => run.b.rps)),
  pairs,
  seconds,
});
for (const child of [builds.a, builds.b, upstream]) child.process.kill('SIGTERM');
