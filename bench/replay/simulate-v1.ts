/**
 * The first simulator's figures (decision 0006), kept to compare with: one prefill at a time per
 * replica, a cache apart from the running requests' memory, load in requests, sessions keyed on
 * the first block. `simulate.ts` runs the closer model. Run: npx tsx bench/replay/simulate-v1.ts [--quick]
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRouter, routingPolicies, type RoutingPolicy } from '../../src/cluster/routing/create-router.js';
import { cpuProfile, gpuProfile, type DeviceProfile } from './device-profiles.js';
import { readAzure, readMooncake, type TraceRequest } from './load-trace.js';
import { simulatePool, type SimulationResult } from './simulate-pool.js';

const traces = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data', 'traces');
// SLO for an interactive 8B service: first token within 5 s, then at most 50 ms per token.
const slo = { ttftMs: 5000, tpotMs: 50 };

interface Scenario {
  name: string;
  trace: readonly TraceRequest[];
  pool: readonly DeviceProfile[];
  loads: number[];
}

const repeat = (profile: DeviceProfile, count: number) => Array.from({ length: count }, () => profile);
// The trace has no user field; its first block stands in for the conversation (a session).
const sessionOf = (request: TraceRequest) => (request.blocks && request.blocks.length > 0 ? String(request.blocks[0]) : undefined);

function run(scenario: Scenario): void {
  console.log(
    `\n## ${scenario.name}: ${scenario.trace.length} requests, ${scenario.pool.length} replicas (${describePool(scenario.pool)}); SLO TTFT <= ${slo.ttftMs / 1000} s, TPOT <= ${slo.tpotMs} ms`,
  );
  for (const load of scenario.loads) {
    const results = new Map<RoutingPolicy, SimulationResult>();
    // The policies this model was published with; estimated-ttft needs the new model's feedback.
    for (const policy of routingPolicies.filter((name) => name !== 'estimated-ttft')) {
      results.set(policy, simulatePool({ trace: scenario.trace, replicas: scenario.pool, router: createRouter(policy), load, slo, sessionOf }));
    }
    const baseline = results.get('round-robin')!;
    console.log(`\nload x${load} (arrivals ${load}x the trace's rate)`);
    console.log('| policy | TTFT p50 s | TTFT p99 s | TTFT mean s | TPOT ms | output tok/s | goodput req/s | SLO met | cache hit | p99 TTFT vs round-robin |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [policy, result] of results) {
      const ratio = baseline.ttftP99Ms / result.ttftP99Ms;
      console.log(
        `| ${policy} | ${(result.ttftP50Ms / 1000).toFixed(2)} | ${(result.ttftP99Ms / 1000).toFixed(2)} | ${(result.ttftMeanMs / 1000).toFixed(2)} | ${result.tpotMeanMs.toFixed(1)} | ${result.throughput.toFixed(0)} | ${result.goodput.toFixed(2)} | ${(result.sloAttainment * 100).toFixed(1)}% | ${(result.cacheHitRate * 100).toFixed(1)}% | ${ratio.toFixed(2)}x lower |`,
      );
    }
  }
}

function describePool(pool: readonly DeviceProfile[]): string {
  const counts = new Map<string, number>();
  for (const profile of pool) counts.set(profile.name, (counts.get(profile.name) ?? 0) + 1);
  return [...counts].map(([name, count]) => `${count} ${name}`).join(' + ');
}

const quick = process.argv.includes('--quick');
const mooncake = readMooncake(resolve(traces, 'mooncake_synthetic_trace.jsonl'));
run({ name: 'Mooncake (prefix hash ids), GPU pool', trace: mooncake, pool: repeat(gpuProfile, 16), loads: quick ? [1] : [1, 1.5, 2] });
run({ name: 'Mooncake, mixed pool', trace: mooncake, pool: [...repeat(gpuProfile, 16), ...repeat(cpuProfile, 4)], loads: [1] });
if (!quick) {
  const azure = readAzure(resolve(traces, 'azure2023_conv.csv'));
  run({ name: 'Azure conversation 2023 (no prefix ids: no cache hits possible)', trace: azure, pool: repeat(gpuProfile, 16), loads: [8, 16] });
}
