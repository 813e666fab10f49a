/**
 * Replays the public traces through every routing policy and the oracle on the server-like
 * simulator (`simulate-server.ts`), at loads defined by the oracle's prefill utilisation (0.85 is
 * the arrival scale at which the oracle keeps 85% of the pool's prefill capacity busy), on 16 GPU
 * replicas and on 12 GPU + 4 CPU. Prints per policy TTFT, TPOT, SLO goodput and the ratios to
 * round-robin and to the oracle; then the hot-spot check (a shared 4-block system prompt).
 *
 *   npx tsx bench/replay/simulate.ts [--quick] [--loads 0.5,0.7,0.85,0.95] [--traces mooncake,azure] [--json out.json]
 *
 * The first model's figures: `simulate-v1.ts`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRouter, routingPolicies, type RoutingPolicy } from '../../src/cluster/routing/create-router.js';
import type { ReplicaRouter } from '../../src/core/replica-router.js';
import { scaleForUtilisation } from './calibrate-load.js';
import { cpuProfile, gpuProfile, type DeviceProfile } from './device-profiles.js';
import { readAzure, readMooncake, tracesDir, type TraceRequest } from './load-trace.js';
import { OracleRouter } from './oracle-router.js';
import { conversationSessions } from './sessions.js';
import { sharedSystemPrompt } from './shared-prompt.js';
import { simulateServer, type ServerSimulationResult } from './simulate-server.js';
import type { ServerReplica } from './server-replica.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    loads: { type: 'string', default: '0.5,0.7,0.85,0.95' },
    traces: { type: 'string', default: 'mooncake,azure' },
    pools: { type: 'string', default: 'gpu,mixed' },
    json: { type: 'string' },
  },
});
const traces = tracesDir;
// First token within 5 s; then at most 100 ms per token (DistServe's chatbot bound): with prefill
// sharing iterations, a decode step is 6 ms alone and ~70 ms beside a 512-token prefill chunk.
const slo = { ttftMs: 5000, tpotMs: 100 };

// `estimated-ttft+heartbeats`: the same router told what each replica caches as the built workers
// tell it (src/engines/llama/held-prefixes.ts): every heartbeat (5 s, the default) at most 256
// blocks, the running requests' then the cache's newest first. `estimated-ttft+reports`: told every
// 250 ms, up to 4,096 blocks (what reports could be worth, the first figures of decision 0012).
// `estimated-ttft-kv-learned`: replicas do not tell their KV size, the router learns it (decision 0026).
type Policy = RoutingPolicy | 'estimated-ttft-kv-learned' | 'estimated-ttft+heartbeats' | 'estimated-ttft+reports' | 'oracle';
const policies: Policy[] = [...routingPolicies, 'estimated-ttft-kv-learned', 'estimated-ttft+heartbeats', 'estimated-ttft+reports', 'oracle'];
const reports: Partial<Record<Policy, { everyMs: number; limit: number }>> = {
  'estimated-ttft+heartbeats': { everyMs: 5000, limit: 256 },
  'estimated-ttft+reports': { everyMs: 250, limit: 4096 },
};

/** A router of `policy` for one run (the oracle reads the simulated replicas). */
export function routerFor(policy: Policy, trace: readonly TraceRequest[]) {
  return ({ replicas, now }: { replicas: readonly ServerReplica[]; now: () => number }): ReplicaRouter =>
    policy === 'oracle'
      ? new OracleRouter(replicas, trace)
      : createRouter(reports[policy] || policy === 'estimated-ttft-kv-learned' ? 'estimated-ttft' : (policy as RoutingPolicy), { estimatedTtft: { now } });
}

interface Scenario {
  name: string;
  trace: readonly TraceRequest[];
  pool: readonly DeviceProfile[];
  sessions: ReadonlyArray<string | undefined>;
}

const repeat = (profile: DeviceProfile, count: number) => Array.from({ length: count }, () => profile);
const figures: Array<Record<string, unknown>> = [];

function runOnce(scenario: Scenario, policy: Policy, scale: number): ServerSimulationResult {
  return simulateServer({
    trace: scenario.trace,
    replicas: scenario.pool,
    router: routerFor(policy, scenario.trace),
    scale,
    slo,
    sessionOf: (_request, index) => scenario.sessions[index],
    cacheReportMs: reports[policy]?.everyMs ?? 0,
    cacheReportLimit: reports[policy]?.limit,
    tellKvSize: policy !== 'estimated-ttft-kv-learned',
  });
}

function run(scenario: Scenario, loads: readonly number[]): void {
  console.log(
    `\n## ${scenario.name}: ${scenario.trace.length} requests, ${scenario.pool.length} replicas; SLO TTFT <= ${slo.ttftMs / 1000} s, TPOT <= ${slo.tpotMs} ms`,
  );
  let start = 1;
  for (const load of loads) {
    const calibrated = scaleForUtilisation(load, (scale) => runOnce(scenario, 'oracle', scale).prefillUtilisation, { start });
    start = calibrated.scale;
    const results = new Map<Policy, ServerSimulationResult>(policies.map((policy) => [policy, runOnce(scenario, policy, calibrated.scale)]));
    const baseline = results.get('round-robin')!;
    const oracle = results.get('oracle')!;
    console.log(
      `\nload ${load}: arrivals x${calibrated.scale.toFixed(3)} the trace's rate (oracle prefill utilisation ${calibrated.utilisation.toFixed(3)}, ${calibrated.runs} oracle runs to find it)`,
    );
    console.log(
      '| policy | TTFT p50 s | TTFT p99 s | TTFT mean s | TPOT mean ms | TPOT p99 ms | goodput req/s | SLO met | TPOT misses | cache hit | busiest/mean | mean vs RR | p99 vs RR | mean / oracle | p99 / oracle | goodput / oracle |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [policy, result] of results) {
      console.log(
        `| ${policy} | ${(result.ttftP50Ms / 1000).toFixed(2)} | ${(result.ttftP99Ms / 1000).toFixed(2)} | ${(result.ttftMeanMs / 1000).toFixed(2)} | ${result.tpotMeanMs.toFixed(1)} | ${result.tpotP99Ms.toFixed(0)} | ${result.goodput.toFixed(2)} | ${(result.sloAttainment * 100).toFixed(1)}% | ${(result.tpotMissShare * 100).toFixed(1)}% | ${(result.cacheHitRate * 100).toFixed(1)}% | ${result.maxShareOverMean.toFixed(2)} | ${(baseline.ttftMeanMs / result.ttftMeanMs).toFixed(2)}x | ${(baseline.ttftP99Ms / result.ttftP99Ms).toFixed(2)}x | ${(result.ttftMeanMs / oracle.ttftMeanMs).toFixed(2)} | ${(result.ttftP99Ms / oracle.ttftP99Ms).toFixed(2)} | ${(result.goodput / oracle.goodput).toFixed(2)} |`,
      );
      figures.push({ scenario: scenario.name, load, scale: calibrated.scale, policy, ...result });
    }
  }
}

const loads = values.quick ? [0.85] : values.loads.split(',').map(Number);
const pools = new Map<string, readonly DeviceProfile[]>([
  ['gpu', repeat(gpuProfile, 16)],
  ['mixed', [...repeat(gpuProfile, 12), ...repeat(cpuProfile, 4)]],
]);
const wanted = values.pools.split(',').filter((name) => pools.has(name));
const started = performance.now();
if (values.traces.includes('mooncake')) {
  const trace = readMooncake(resolve(traces, 'mooncake_synthetic_trace.jsonl'));
  const sessions = conversationSessions(trace);
  for (const pool of values.quick ? ['gpu'] : wanted)
    run({ name: `Mooncake, ${pool === 'gpu' ? '16 GPU' : '12 GPU + 4 CPU'}`, trace, pool: pools.get(pool)!, sessions }, loads);
  if (!values.quick) {
    const shared = sharedSystemPrompt(trace);
    run({ name: 'Hot spot: Mooncake arrivals, one shared 4-block system prompt, 16 GPU', trace: shared, pool: pools.get('gpu')!, sessions: [] }, [0.85]);
  }
}
if (values.traces.includes('azure') && !values.quick) {
  const trace = readAzure(resolve(traces, 'azure2023_conv.csv'));
  for (const pool of wanted)
    run(
      {
        name: `Azure conversation 2023 (no prefixes, no sessions), ${pool === 'gpu' ? '16 GPU' : '12 GPU + 4 CPU'}`,
        trace,
        pool: pools.get(pool)!,
        sessions: [],
      },
      loads,
    );
}
console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
if (values.json) writeFileSync(values.json, JSON.stringify(figures, null, 1));
