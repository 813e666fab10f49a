/**
 * Gateway overhead, in one script, against a fixed-reply upstream (bench/fixed-upstream.ts, its
 * own process): autocannon at concurrency 32, runs alternating between the upstream direct, a
 * bare node:http keep-alive proxy (bench/bare-proxy.ts: the floor a Node proxy reaches), the
 * same framework as Nimbus with none of its features (bench/fastify-floor.ts: Fastify and
 * undici, nothing checked or counted), and Nimbus (dist/, its own process, request log in SQLite,
 * metrics and info logging on), whole answers and streams. Then, at concurrency 1, the latency each adds: p50 of whole answers and
 * p50 time to first byte of streams, minus the upstream's own. Throughput moves with the
 * neighbours' load on a shared machine, so it also prints the CPU time each proxy process spent
 * per request (Linux /proc): the cost itself.
 *
 *   npm run build && npx tsx bench/gateway.ts [--duration 10] [--rounds 2] [--samples 2000]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as send } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuMs, median, percentile, report, repoRoot, spawnListening } from './support.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, samples: { type: 'string', default: '2000' } },
});
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const samples = Number(values.samples);

const work = mkdtempSync(join(tmpdir(), 'nimbus-bench-gateway-'));
const upstream = await spawnListening(['--import', 'tsx', join(repoRoot, 'bench', 'fixed-upstream.ts')]);
const proxy = await spawnListening(['--import', 'tsx', join(repoRoot, 'bench', 'bare-proxy.ts'), upstream.url]);
const floor = await spawnListening(['--import', 'tsx', join(repoRoot, 'bench', 'fastify-floor.ts'), upstream.url]);
const configPath = join(work, 'nimbus.json');
writeFileSync(
  configPath,
  JSON.stringify({ providers: [{ id: 'fixed', baseUrl: `${upstream.url}/v1` }], upstreamModels: [{ id: 'fixed-model', provider: 'fixed' }], mqttUrl: 'off' }),
);
const nimbus = await spawnListening(
  [join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--config', configPath, '--port', '0', '--home', join(work, 'home'), '--log-level', 'info'],
  join(work, 'nimbus.log'),
);

const targets = { direct: upstream.url, bare: proxy.url, floor: floor.url, nimbus: nimbus.url } as const;
type Target = keyof typeof targets;
const processes: Record<Target, ChildProcess> = { direct: upstream.process, bare: proxy.process, floor: floor.process, nimbus: nimbus.process };

const path = '/v1/chat/completions';
const request = { model: 'fixed-model', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 };
const bodies = { whole: JSON.stringify(request), stream: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }) };

async function load(target: Target, body: string, seconds: number) {
  const cpuBefore = cpuMs(processes[target]);
  const mainBefore = cpuMs(processes[target], true);
  const result = await autocannon({
    url: targets[target] + path,
    connections: 32,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  const cpuUs = ((cpuMs(processes[target]) - cpuBefore) * 1000) / (result['2xx'] || 1);
  const mainUs = ((cpuMs(processes[target], true) - mainBefore) * 1000) / (result['2xx'] || 1);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUs, mainUs };
}

// Warm every path (JIT, connection pools) before measuring.
for (const target of Object.keys(targets) as Target[]) for (const body of Object.values(bodies)) await load(target, body, 1);

for (const [variant, body] of Object.entries(bodies)) {
  const runs: Record<Target, Array<{ rps: number; p50: number; p99: number; cpuUs: number; mainUs: number }>> = { direct: [], bare: [], floor: [], nimbus: [] };
  for (let round = 0; round < rounds; round += 1) for (const target of Object.keys(targets) as Target[]) runs[target].push(await load(target, body, duration));
  const figure = (target: Target, key: 'rps' | 'p50' | 'p99' | 'cpuUs' | 'mainUs') => median(runs[target].map((run) => run[key]));
  // Each round's Nimbus run against the bare proxy's run just before it: neighbours in time share
  // the machine's mood, so the spread of these ratios says how far to trust the median.
  const pairs = runs.nimbus.map((run, round) => run.rps / runs.bare[round]!.rps);
  report(`gateway ${variant} c=32`, {
    direct_rps: figure('direct', 'rps'),
    bare_proxy_rps: figure('bare', 'rps'),
    nimbus_rps: figure('nimbus', 'rps'),
    nimbus_vs_bare: figure('nimbus', 'rps') / figure('bare', 'rps'),
    nimbus_vs_bare_pairs: median(pairs),
    nimbus_vs_bare_pairs_min: Math.min(...pairs),
    nimbus_vs_bare_pairs_max: Math.max(...pairs),
    nimbus_vs_direct: figure('nimbus', 'rps') / figure('direct', 'rps'),
    floor_rps: figure('floor', 'rps'),
    floor_vs_bare: figure('floor', 'rps') / figure('bare', 'rps'),
    nimbus_vs_floor: figure('nimbus', 'rps') / figure('floor', 'rps'),
    direct_p50_ms: figure('direct', 'p50'),
    direct_p99_ms: figure('direct', 'p99'),
    bare_p50_ms: figure('bare', 'p50'),
    bare_p99_ms: figure('bare', 'p99'),
    nimbus_p50_ms: figure('nimbus', 'p50'),
    nimbus_p99_ms: figure('nimbus', 'p99'),
    bare_cpu_us_per_request: figure('bare', 'cpuUs'),
    floor_cpu_us_per_request: figure('floor', 'cpuUs'),
    nimbus_cpu_us_per_request: figure('nimbus', 'cpuUs'),
    bare_vs_nimbus_cpu: figure('bare', 'cpuUs') / figure('nimbus', 'cpuUs'),
    nimbus_main_thread_cpu_us_per_request: figure('nimbus', 'mainUs'),
    bare_vs_nimbus_main_thread_cpu: figure('bare', 'cpuUs') / figure('nimbus', 'mainUs'),
    seconds: duration,
    rounds,
  });
}

/** One request at a time: milliseconds to the first byte of the body and to its end. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function timeOne(target: Target, body: string): Promise<{ firstByte: number; whole: number }> {
  const url = new URL(targets[target] + path);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByte = 0;
    const outgoing = send(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (answer) => {
        answer.on('data', () => (firstByte ||= performance.now() - started));
        answer.on('end', () => resolve({ firstByte, whole: performance.now() - started }));
        answer.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const latencies: Record<Target, { whole: number[]; firstByte: number[] }> = {
  direct: { whole: [], firstByte: [] },
  bare: { whole: [], firstByte: [] },
  floor: { whole: [], firstByte: [] },
  nimbus: { whole: [], firstByte: [] },
};
for (let index = 0; index < samples + 200; index += 1) {
  for (const target of Object.keys(targets) as Target[]) {
    const whole = await timeOne(target, bodies.whole);
    const streamed = await timeOne(target, bodies.stream);
    if (index < 200) continue; // warm-up
    latencies[target].whole.push(whole.whole);
    latencies[target].firstByte.push(streamed.firstByte);
  }
}
const p50 = (target: Target, key: 'whole' | 'firstByte') => median(latencies[target][key]);
report('gateway c=1 added latency', {
  nimbus_added_p50_ms: p50('nimbus', 'whole') - p50('direct', 'whole'),
  bare_added_p50_ms: p50('bare', 'whole') - p50('direct', 'whole'),
  nimbus_added_ttfb_ms: p50('nimbus', 'firstByte') - p50('direct', 'firstByte'),
  bare_added_ttfb_ms: p50('bare', 'firstByte') - p50('direct', 'firstByte'),
  floor_added_p50_ms: p50('floor', 'whole') - p50('direct', 'whole'),
  floor_added_ttfb_ms: p50('floor', 'firstByte') - p50('direct', 'firstByte'),
  direct_p50_ms: p50('direct', 'whole'),
  direct_ttfb_ms: p50('direct', 'firstByte'),
  nimbus_p99_ms: percentile(latencies.nimbus.whole, 0.99),
  samples,
});

agent.destroy();
for (const child of [nimbus, floor, proxy, upstream]) child.process.kill('SIGTERM');
