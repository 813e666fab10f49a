/**
 * Two builds of Nimbus against each other on the same stored `/v1/responses` turn (stories260K,
 * temperature 0, 16 tokens, `store` left at its default: true), for a change to the responses
 * path (decision 0020: the stored response's write). Both builds serve at once, each on its own
 * SQLite home; each round runs a batch on A and one on B back to back, in alternating order, and
 * takes B's median latency over A's, and B's main-thread CPU per request over A's (the CPU is
 * what a loaded machine distorts least). It prints the median of those ratios over the rounds
 * with their interquartile range (a range that includes 1.0 means no difference measured).
 *
 *   npm run build && mkdir -p /tmp/before && cp -r dist package.json /tmp/before/   # then change the code
 *   npm run build && npx tsx bench/responses-ab.ts /tmp/before/dist dist [--rounds 12] [--requests 48] [--concurrency 1] [--stream]
 *
 * A copied dist needs a package.json beside it and node_modules above it: copy into a folder of
 * this checkout (`.ab/before/`), or set NODE_PATH.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchModelPath, cpuMs, median, percentile, report, spawnListening, timeRequest, waitReady, type Child } from './support.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '12' },
    requests: { type: 'string', default: '48' },
    concurrency: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '16' },
    stream: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/responses-ab.ts DIST_A DIST_B [--rounds 12] [--requests 48] [--concurrency 1] [--tokens 16] [--stream]');
  process.exit(2);
}
const [distA, distB] = positionals.map((dist) => resolve(dist)) as [string, string];
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const payload = JSON.stringify({
  model: 'stories260K',
  input: 'Once upon a time',
  max_output_tokens: Number(values.tokens),
  temperature: 0,
  stream: values.stream,
});
const marker = values.stream ? 'response.output_text.delta' : undefined;
const work = mkdtempSync(join(tmpdir(), 'nimbus-bench-responses-ab-'));

async function serve(dist: string, name: string): Promise<Child> {
  const args = [join(dist, 'cli', 'main.js'), 'serve', '--port', '0', '--home', join(work, name), '--gpu', 'cpu', '--model', benchModelPath()];
  const child = await spawnListening([...args, '--threads', '1', '--ctx', '512', '--slots', '16', '--log-level', 'warn'], join(work, `${name}.log`), {
    NIMBUS_MQTT_URL: 'off',
    NIMBUS_HF_ENDPOINT: 'http://127.0.0.1:9',
  });
  await waitReady(child.url);
  return child;
}
const builds = { a: await serve(distA, 'a'), b: await serve(distB, 'b') };

/** A batch on one build: its median latency (or time to the first delta), and its main thread's CPU per request. */
async function batch(build: Child, size: number): Promise<{ ms: number; cpuUs: number }> {
  const times: number[] = [];
  let next = 0;
  const before = cpuMs(build.process, true);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < size) {
        next += 1;
        times.push(await timeRequest(build.url, '/v1/responses', payload, marker));
      }
    }),
  );
  return { ms: median(times), cpuUs: ((cpuMs(build.process, true) - before) * 1000) / size };
}

try {
  // Warm both (JIT, the model's first turns, the SQLite pages).
  await batch(builds.a, 32);
  await batch(builds.b, 32);
  const latency: number[] = [];
  const cpu: number[] = [];
  const a: Array<{ ms: number; cpuUs: number }> = [];
  const b: Array<{ ms: number; cpuUs: number }> = [];
  for (let round = 0; round < rounds; round += 1) {
    const first = round % 2 === 0 ? 'a' : 'b';
    const results: Partial<Record<'a' | 'b', { ms: number; cpuUs: number }>> = {};
    results[first] = await batch(builds[first], requests);
    const second = first === 'a' ? 'b' : 'a';
    results[second] = await batch(builds[second], requests);
    a.push(results.a!);
    b.push(results.b!);
    latency.push(results.b!.ms / results.a!.ms);
    cpu.push(results.b!.cpuUs / results.a!.cpuUs);
  }
  report(`responses A/B ${values.stream ? 'ttft' : 'latency'} c${concurrency}`, {
    b_vs_a_ms: median(latency),
    b_vs_a_ms_q1: percentile(latency, 0.25),
    b_vs_a_ms_q3: percentile(latency, 0.75),
    b_vs_a_main_thread_cpu: median(cpu),
    b_vs_a_main_thread_cpu_q1: percentile(cpu, 0.25),
    b_vs_a_main_thread_cpu_q3: percentile(cpu, 0.75),
    a_ms: median(a.map((run) => run.ms)),
    b_ms: median(b.map((run) => run.ms)),
    a_main_thread_cpu_us: median(a.map((run) => run.cpuUs)),
    b_main_thread_cpu_us: median(b.map((run) => run.cpuUs)),
    rounds,
    requests,
    // The machine's 1-minute load when the figure was taken: above ~3 on this 2-core machine the figure is noise.
    load1: loadavg()[0]!,
  });
} finally {
  for (const build of [builds.a, builds.b]) build.process.kill('SIGTERM');
}
