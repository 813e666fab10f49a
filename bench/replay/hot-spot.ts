/**
 * The hot-spot check of issue 24 on its own: Mooncake's arrivals and lengths, every prompt behind
 * one 4-block system prompt and the rest its own, 16 GPU replicas, at the arrival scale where the
 * oracle's prefill is busy 85% of the time. The bound: no replica's share of requests over 1.25x
 * the mean. Prints, per policy, the busiest replica's share over the mean (of requests, and of
 * prompt tokens: the work), each replica's count, TTFT mean and p99, goodput and cache hits.
 *
 *   npx tsx bench/replay/hot-spot.ts [--load 0.85] [--scale X] [--policies estimated-ttft,oracle,least-outstanding-tokens]
 *
 * `--scale` skips the calibration (it prints the scale it finds, for the next run).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRouter, type RoutingPolicy } from '../../src/cluster/routing/create-router.js';
import type { ReplicaRouter } from '../../src/core/replica-router.js';
import { scaleForUtilisation } from './calibrate-load.js';
import { gpuProfile } from './device-profiles.js';
import { readMooncake, tracesDir } from './load-trace.js';
import { sharedSystemPrompt } from './shared-prompt.js';
import { OracleRouter } from './oracle-router.js';
import type { ServerReplica } from './server-replica.js';
import { simulateServer } from './simulate-server.js';

const { values } = parseArgs({
  options: {
    load: { type: 'string', default: '0.85' },
    scale: { type: 'string' },
    policies: { type: 'string', default: 'estimated-ttft,oracle,least-outstanding-tokens' },
    /** JSON of estimated-ttft options to try (the bench's own experiments). */
    'ttft-options': { type: 'string', default: '{}' },
  },
});
type Policy = RoutingPolicy | 'oracle';
const ttftOptions = JSON.parse(values['ttft-options']) as Record<string, number>;
const trace = sharedSystemPrompt(readMooncake(resolve(tracesDir, 'mooncake_synthetic_trace.jsonl')));
const replicas = Array.from({ length: 16 }, () => gpuProfile);
const slo = { ttftMs: 5000, tpotMs: 100 };
const routerFor =
  (policy: Policy) =>
  ({ replicas: live, now }: { replicas: readonly ServerReplica[]; now: () => number }): ReplicaRouter =>
    policy === 'oracle' ? new OracleRouter(live, trace) : createRouter(policy, { estimatedTtft: { now, ...ttftOptions } });
const run = (policy: Policy, scale: number) => simulateServer({ trace, replicas, router: routerFor(policy), scale, slo });

const load = Number(values.load);
const scale = values.scale ? Number(values.scale) : scaleForUtilisation(load, (at) => run('oracle', at).prefillUtilisation, { start: 2 }).scale;
console.log(`hot spot: ${trace.length} requests, 16 GPU, load ${load}: arrivals x${scale.toFixed(4)}`);
console.log('| policy | busiest / mean: requests | prompt tokens | TTFT mean s | TTFT p99 s | goodput req/s | cache hit | requests per replica |');
console.log('|---|---:|---:|---:|---:|---:|---:|---|');
const busiest = (counts: readonly number[]) => Math.max(...counts) / (counts.reduce((total, count) => total + count, 0) / counts.length);
for (const policy of values.policies.split(',') as Policy[]) {
  const result = run(policy, scale);
  console.log(
    `| ${policy} | ${result.maxShareOverMean.toFixed(2)} | ${busiest(result.promptTokensPerReplica).toFixed(2)} | ${(result.ttftMeanMs / 1000).toFixed(2)} | ${(result.ttftP99Ms / 1000).toFixed(1)} | ${result.goodput.toFixed(2)} | ${(result.cacheHitRate * 100).toFixed(1)}% | ${result.sentPerReplica.join(' ')} |`,
  );
}
