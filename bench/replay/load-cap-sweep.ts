/**
 * The load cap of estimated-ttft routing (decision 0025) on and off, averaged over nine arrival
 * scales (x0.96 to x1.04) around each load: near saturation a small change of placement tips a
 * replica into thrashing and single runs swing by up to 2x (see reports-sweep.ts). Mooncake on 16
 * GPU replicas at the scales `simulate.ts` calibrates for loads 0.5, 0.7 and 0.85, and the
 * hot-spot case (every prompt behind one 4-block system prompt, `hot-spot.ts`) at its 0.85.
 *
 *   npx tsx bench/replay/load-cap-sweep.ts [--caps 0,1.5] [--cases hot,0.5,0.7,0.85]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EstimatedTtftRouter } from '../../src/cluster/routing/estimated-ttft-router.js';
import { gpuProfile } from './device-profiles.js';
import { readMooncake, tracesDir } from './load-trace.js';
import { conversationSessions } from './sessions.js';
import { sharedSystemPrompt } from './shared-prompt.js';
import { simulateServer } from './simulate-server.js';

const { values } = parseArgs({
  options: {
    caps: { type: 'string', default: '0,1.5' },
    cases: { type: 'string', default: 'hot,0.5,0.7,0.85' },
  },
});
const mooncake = readMooncake(resolve(tracesDir, 'mooncake_synthetic_trace.jsonl'));
const sessions = conversationSessions(mooncake);
const cases = [
  { name: 'hot', label: 'hot spot, 0.85 (x2.000)', trace: sharedSystemPrompt(mooncake), scale: 2.0, sessions: [] as Array<string | undefined> },
  { name: '0.5', label: 'Mooncake, 0.5 (x1.688)', trace: mooncake, scale: 1.688, sessions },
  { name: '0.7', label: 'Mooncake, 0.7 (x2.215)', trace: mooncake, scale: 2.215, sessions },
  { name: '0.85', label: 'Mooncake, 0.85 (x2.406)', trace: mooncake, scale: 2.406, sessions },
].filter((entry) => values.cases.split(',').includes(entry.name));
const factors = [0.96, 0.97, 0.98, 0.99, 1, 1.01, 1.02, 1.03, 1.04];

console.log('| case | load cap | TTFT mean s | TTFT p99 s | goodput req/s | cache hit | busiest / mean: average, worst |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const entry of cases) {
  for (const loadCap of values.caps.split(',').map(Number)) {
    const sums = { mean: 0, p99: 0, goodput: 0, hit: 0, share: 0, worst: 0 };
    for (const factor of factors) {
      const result = simulateServer({
        trace: entry.trace,
        replicas: Array.from({ length: 16 }, () => gpuProfile),
        router: ({ now }) => new EstimatedTtftRouter({ now, loadCap }),
        scale: entry.scale * factor,
        slo: { ttftMs: 5000, tpotMs: 100 },
        sessionOf: (_request, index) => entry.sessions[index],
      });
      sums.mean += result.ttftMeanMs / 1000 / factors.length;
      sums.p99 += result.ttftP99Ms / 1000 / factors.length;
      sums.goodput += result.goodput / factors.length;
      sums.hit += result.cacheHitRate / factors.length;
      sums.share += result.maxShareOverMean / factors.length;
      sums.worst = Math.max(sums.worst, result.maxShareOverMean);
    }
    console.log(
      `| ${entry.label} | ${loadCap || 'off'} | ${sums.mean.toFixed(2)} | ${sums.p99.toFixed(1)} | ${sums.goodput.toFixed(2)} | ${(sums.hit * 100).toFixed(1)}% | ${sums.share.toFixed(2)}, ${sums.worst.toFixed(2)} |`,
    );
  }
}
