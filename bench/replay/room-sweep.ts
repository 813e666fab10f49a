/**
 * estimated-ttft against the oracle, averaged over arrival scales around each load (decision
 * 0026). Near saturation one scale misleads: a small change of placement tips a replica into
 * thrashing (the oracle itself reads 2.8 s at x2.391 and 8.4 s at x2.415 on Mooncake, 16 GPU), so
 * each load is run at several scales and the figures averaged. Rows: the oracle, estimated-ttft
 * with replicas that tell their KV size, and with replicas that do not (the router learns it).
 *
 *   npx tsx bench/replay/room-sweep.ts [--scales 1.6875,2.21484375,2.439788818359375] [--factors 0.98,0.99,1,1.01,1.02] [--pool gpu|mixed] [--trace mooncake|azure]
 *     [--rows oracle,told,learned] [--ttft-options '{"decodeWeight":0}']
 *
 * `--ttft-options` are estimated-ttft options for both of its rows (to try a change without
 * editing the router); `--rows` runs only some rows (the oracle's are the same for every router).
 * The admission column is the mean wait from a request's arrival to a free slot and room in KV
 * memory on its replica (before its prefill can start).
 *
 * The default scales are those `simulate.ts` calibrates for loads 0.5, 0.7 and 0.85 (Mooncake, 16
 * GPU); decision 0026 ran 0.85 at --factors 0.96,0.97,0.98,0.99,1,1.01,1.02,1.03,1.04.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRouter } from '../../src/cluster/routing/create-router.js';
import { cpuProfile, gpuProfile } from './device-profiles.js';
import { readAzure, readMooncake, tracesDir } from './load-trace.js';
import { OracleRouter } from './oracle-router.js';
import { conversationSessions } from './sessions.js';
import { simulateServer } from './simulate-server.js';

const { values } = parseArgs({
  options: {
    scales: { type: 'string', default: '1.6875,2.21484375,2.439788818359375' },
    factors: { type: 'string', default: '0.98,0.99,1,1.01,1.02' },
    pool: { type: 'string', default: 'gpu' },
    trace: { type: 'string', default: 'mooncake' },
    rows: { type: 'string', default: 'oracle,told,learned' },
    'ttft-options': { type: 'string', default: '{}' },
  },
});
const azure = values.trace === 'azure';
const trace = azure ? readAzure(resolve(tracesDir, 'azure2023_conv.csv')) : readMooncake(resolve(tracesDir, 'mooncake_synthetic_trace.jsonl'));
const sessions = azure ? [] : conversationSessions(trace);
const gpus = values.pool === 'mixed' ? 12 : 16;
const replicas = [...Array.from({ length: gpus }, () => gpuProfile), ...Array.from({ length: 16 - gpus }, () => cpuProfile)];
const rows = { oracle: 'oracle', told: 'estimated-ttft, KV size told', learned: 'estimated-ttft, KV size learned' } as const;
type Row = keyof typeof rows;
const ttftOptions = JSON.parse(values['ttft-options']) as Record<string, number>;
const wanted = values.rows.split(',').filter((row): row is Row => row in rows);

const run = (row: Row, scale: number) =>
  simulateServer({
    trace,
    replicas,
    router: ({ replicas: simulated, now }) =>
      row === 'oracle' ? new OracleRouter(simulated, trace) : createRouter('estimated-ttft', { estimatedTtft: { ...ttftOptions, now } }),
    scale,
    slo: { ttftMs: 5000, tpotMs: 100 },
    sessionOf: (_request, index) => sessions[index],
    tellKvSize: row === 'told',
  });

const factors = values.factors.split(',').map(Number);
console.log(
  `${azure ? 'Azure' : 'Mooncake'}, ${gpus} GPU${gpus < 16 ? ` + ${16 - gpus} CPU` : ''}; each figure the mean over x${factors.join(', x')} of the scale`,
);
console.log('| around | policy | TTFT mean s | TTFT p99 s | goodput req/s | cache hit | admission wait s | mean / oracle | p99 / oracle | goodput / oracle |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const base of values.scales.split(',').map(Number)) {
  const sums = new Map<Row, { mean: number; p99: number; goodput: number; hit: number; admission: number }>();
  for (const row of wanted) {
    const sum = { mean: 0, p99: 0, goodput: 0, hit: 0, admission: 0 };
    for (const factor of factors) {
      const result = run(row, base * factor);
      sum.mean += result.ttftMeanMs / 1000 / factors.length;
      sum.p99 += result.ttftP99Ms / 1000 / factors.length;
      sum.goodput += result.goodput / factors.length;
      sum.hit += result.cacheHitRate / factors.length;
      sum.admission += result.admissionWaitMeanMs / 1000 / factors.length;
    }
    sums.set(row, sum);
  }
  const oracle = sums.get('oracle');
  const ratio = (value: number, to: number | undefined) => (to === undefined ? '-' : (value / to).toFixed(2));
  for (const [row, sum] of sums) {
    console.log(
      `| x${base} | ${rows[row]} | ${sum.mean.toFixed(2)} | ${sum.p99.toFixed(1)} | ${sum.goodput.toFixed(2)} | ${(sum.hit * 100).toFixed(1)}% | ${sum.admission.toFixed(2)} | ${ratio(sum.mean, oracle?.mean)} | ${ratio(sum.p99, oracle?.p99)} | ${ratio(sum.goodput, oracle?.goodput)} |`,
    );
  }
}
