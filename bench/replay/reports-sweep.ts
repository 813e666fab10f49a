/**
 * Workers' cache reports against the router's own index, averaged over arrival scales around each
 * load (issue 24, item 2). One scale is not enough: near saturation a small change of placement
 * tips a replica into thrashing, and single runs swing by 2x (0.7 read 7.21 s -> 4.20 s with
 * reports at x2.215, yet they lost on the average of the five scales around it).
 *
 *   npx tsx bench/replay/reports-sweep.ts [--scales 1.688,2.215,2.406] [--every 5000] [--limit 256]
 *
 * The default scales are those `simulate.ts` calibrates for loads 0.5, 0.7 and 0.85 (Mooncake, 16
 * GPU); each is run at x0.98, 0.99, 1, 1.01 and 1.02.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRouter } from '../../src/cluster/routing/create-router.js';
import { gpuProfile } from './device-profiles.js';
import { readMooncake, tracesDir } from './load-trace.js';
import { conversationSessions } from './sessions.js';
import { simulateServer } from './simulate-server.js';

const { values } = parseArgs({
  options: {
    scales: { type: 'string', default: '1.688,2.215,2.406' },
    every: { type: 'string', default: '5000' },
    limit: { type: 'string', default: '256' },
  },
});
const trace = readMooncake(resolve(tracesDir, 'mooncake_synthetic_trace.jsonl'));
const sessions = conversationSessions(trace);
const run = (scale: number, reportMs: number) =>
  simulateServer({
    trace,
    replicas: Array.from({ length: 16 }, () => gpuProfile),
    router: ({ now }) => createRouter('estimated-ttft', { estimatedTtft: { now } }),
    scale,
    slo: { ttftMs: 5000, tpotMs: 100 },
    sessionOf: (_request, index) => sessions[index],
    cacheReportMs: reportMs,
    cacheReportLimit: Number(values.limit),
  });

console.log(`| scale | mean TTFT s: none / reports every ${values.every} ms, ${values.limit} keys | p99 s | goodput req/s |`);
console.log('|---|---:|---:|---:|');
for (const base of values.scales.split(',').map(Number)) {
  const sums = { none: { mean: 0, p99: 0, goodput: 0 }, reports: { mean: 0, p99: 0, goodput: 0 } };
  for (const factor of [0.98, 0.99, 1, 1.01, 1.02]) {
    const scale = base * factor;
    const [none, reports] = [run(scale, 0), run(scale, Number(values.every))];
    for (const [name, result] of [
      ['none', none],
      ['reports', reports],
    ] as const) {
      sums[name].mean += result.ttftMeanMs / 5000;
      sums[name].p99 += result.ttftP99Ms / 5000;
      sums[name].goodput += result.goodput / 5;
    }
    console.log(
      `| x${scale.toFixed(3)} | ${(none.ttftMeanMs / 1000).toFixed(2)} / ${(reports.ttftMeanMs / 1000).toFixed(2)} | ${(none.ttftP99Ms / 1000).toFixed(1)} / ${(reports.ttftP99Ms / 1000).toFixed(1)} | ${none.goodput.toFixed(2)} / ${reports.goodput.toFixed(2)} |`,
    );
  }
  const { none, reports } = sums;
  console.log(
    `| **around x${base}** | **${none.mean.toFixed(2)} / ${reports.mean.toFixed(2)}** (${(reports.mean / none.mean).toFixed(2)}x) | ${none.p99.toFixed(1)} / ${reports.p99.toFixed(1)} | ${none.goodput.toFixed(2)} / ${reports.goodput.toFixed(2)} |`,
  );
}
