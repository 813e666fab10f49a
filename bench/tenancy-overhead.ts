/**
 * What keys, limits and the ledger cost the gateway, in one script, against a fixed-reply
 * upstream (bench/fixed-upstream.ts, its own process). Three `nimbus serve` processes (dist/):
 *   off:   local mode, no key, no limit (the request log is written, as it was before tenancy);
 *   on:    every request with a key, RPM/TPM/concurrency/day and month token and cost budgets
 *          on the key and on its tenant, prices, the ledger (SQLite), in-process counters;
 *   redis: the same, with the counters in Redis (as several control-plane processes share them).
 * autocannon at concurrency 32, whole answers and streams, runs alternating between the three;
 * prints the medians and the ratios on/off and redis/off (target: at least 0.9). On a shared
 * machine throughput moves with the neighbours' load, so it also prints the CPU time each server
 * process spent per request (from /proc, Linux) and its ratio off/on: the overhead itself.
 *
 *   npm run build && npx tsx bench/tenancy-overhead.ts [--duration 10] [--rounds 3]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuMs, limitedBenchKey, median, report, repoRoot, spawnListening, type Child } from './support.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const redisUrl = process.env.NIMBUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const work = mkdtempSync(join(tmpdir(), 'nimbus-bench-tenancy-'));
const upstream = await spawnListening(['--import', 'tsx', join(repoRoot, 'bench', 'fixed-upstream.ts')]);
const configPath = join(work, 'nimbus.json');
writeFileSync(
  configPath,
  JSON.stringify({
    providers: [{ id: 'fixed', baseUrl: `${upstream.url}/v1` }],
    upstreamModels: [{ id: 'fixed-model', provider: 'fixed' }],
    prices: { 'fixed-model': { input: 0.15, output: 0.6 } },
  }),
);
const serve = (name: string, environment: Record<string, string> = {}): Promise<Child> =>
  spawnListening(
    [join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--config', configPath, '--port', '0', '--home', join(work, name), '--log-level', 'info'],
    undefined,
    environment,
  );

/** A server with keys and limits on: its operator key creates a limited tenant and a limited key. */
async function limitedServer(name: string, environment: Record<string, string> = {}): Promise<{ child: Child; key: string }> {
  const child = await serve(name, environment);
  return { child, key: await limitedBenchKey(child.url) };
}

const off = await serve('off');
const on = await limitedServer('on');
const redis = await limitedServer('redis', { NIMBUS_REDIS_URL: redisUrl });
const targets = {
  off: { url: off.url, headers: {}, process: off.process },
  on: { url: on.child.url, headers: { authorization: `Bearer ${on.key}` }, process: on.child.process },
  redis: { url: redis.child.url, headers: { authorization: `Bearer ${redis.key}` }, process: redis.child.process },
} as const;

/** CPU seconds (user + system) a process has used, or NaN where /proc is not there. */
const cpuSeconds = (target: ChildProcess): number => cpuMs(target) / 1000;
type Target = keyof typeof targets;

const path = '/v1/chat/completions';
const request = { model: 'fixed-model', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 };
const bodies = { whole: JSON.stringify(request), stream: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }) };

async function load(target: Target, body: string, seconds: number): Promise<{ rps: number; p50: number; p99: number; cpuUs: number }> {
  const cpuBefore = cpuSeconds(targets[target].process);
  const result = await autocannon({
    url: targets[target].url + path,
    connections: 32,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...targets[target].headers },
    body,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  const cpuUs = ((cpuSeconds(targets[target].process) - cpuBefore) * 1e6) / result['2xx'];
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUs };
}

// Warm every path (JIT, connection pools, caches) before measuring.
for (const target of Object.keys(targets) as Target[]) for (const body of Object.values(bodies)) await load(target, body, 2);

for (const [variant, body] of Object.entries(bodies)) {
  const runs: Record<Target, Array<{ rps: number; p50: number; p99: number; cpuUs: number }>> = { off: [], on: [], redis: [] };
  for (let round = 0; round < rounds; round += 1) for (const target of Object.keys(targets) as Target[]) runs[target].push(await load(target, body, duration));
  const figure = (target: Target, key: 'rps' | 'p50' | 'p99' | 'cpuUs') => median(runs[target].map((run) => run[key]));
  report(`tenancy overhead ${variant} c=32`, {
    off_rps: figure('off', 'rps'),
    on_rps: figure('on', 'rps'),
    redis_rps: figure('redis', 'rps'),
    on_vs_off: figure('on', 'rps') / figure('off', 'rps'),
    redis_vs_off: figure('redis', 'rps') / figure('off', 'rps'),
    off_cpu_us_per_request: figure('off', 'cpuUs'),
    on_cpu_us_per_request: figure('on', 'cpuUs'),
    redis_cpu_us_per_request: figure('redis', 'cpuUs'),
    off_vs_on_cpu: figure('off', 'cpuUs') / figure('on', 'cpuUs'),
    off_vs_redis_cpu: figure('off', 'cpuUs') / figure('redis', 'cpuUs'),
    off_p50_ms: figure('off', 'p50'),
    on_p50_ms: figure('on', 'p50'),
    redis_p50_ms: figure('redis', 'p50'),
    off_p99_ms: figure('off', 'p99'),
    on_p99_ms: figure('on', 'p99'),
    redis_p99_ms: figure('redis', 'p99'),
    seconds: duration,
    rounds,
  });
}

for (const child of [off, on.child, redis.child, upstream]) child.process.kill('SIGTERM');
