/**
 * Routing policies against real workers on this machine (bench/replay/real-replay.ts): a pool of
 * three workers serving stories260K, a Mooncake slice routed to them by the control plane, round-robin
 * against prefix-cache in alternating runs. Prints each run, then the medians per policy and the
 * ratio of round-robin's mean TTFT to each policy's (above 1: that policy is faster).
 *
 *   npm run build && npx tsx bench/replay/real.ts [--requests 300] [--rate 40] [--rounds 3]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { routingPolicies, type RoutingPolicy } from '../../src/core/replica-router.js';
import { median, report } from '../support.js';
import { readMooncake, tracesDir } from './load-trace.js';
import { reusableShare, runRealReplay } from './real-replay.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    skip: { type: 'string', default: '0' },
    rate: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '3' },
    slots: { type: 'string', default: '4' },
    'block-chars': { type: 'string', default: '96' },
    'max-blocks': { type: 'string', default: '8' },
    policies: { type: 'string', default: 'round-robin,prefix-cache' },
  },
});
const policies = values.policies.split(',').map((name) => {
  if (!(routingPolicies as readonly string[]).includes(name)) throw new Error(`unknown policy ${name}; use ${routingPolicies.join(', ')}`);
  return name as RoutingPolicy;
});
const trace = readMooncake(resolve(tracesDir, 'mooncake_synthetic_trace.jsonl')).slice(Number(values.skip), Number(values.skip) + Number(values.requests));
const options = {
  trace,
  policies,
  workers: Number(values.workers),
  slots: Number(values.slots),
  blockChars: Number(values['block-chars']),
  maxBlocks: Number(values['max-blocks']),
  outputScale: 20,
  maxOutput: 24,
  rate: Number(values.rate),
  rounds: Number(values.rounds),
};
// The ceiling on any policy's cached share here (shares are of prompt tokens, bound of blocks: near enough).
report('replay-real slice', { requests: trace.length, reusable_block_share: reusableShare(trace, options.maxBlocks) });
const runs = await runRealReplay(options, (run) =>
  report(`replay-real run`, {
    policy: run.policy,
    round: run.round,
    requests: run.requests,
    errors: run.errors,
    ...(run.errors > 0 ? { error_kinds: run.errorKinds } : {}),
    ttft_mean_ms: run.ttftMeanMs,
    ttft_p50_ms: run.ttftP50Ms,
    ttft_p99_ms: run.ttftP99Ms,
    cached_share: run.cachedShare,
    output_tokens_per_s: run.outputTokensPerSecond,
  }),
);
const baseline = median(runs.filter((run) => run.policy === 'round-robin').map((run) => run.ttftMeanMs));
for (const policy of policies) {
  const mine = runs.filter((run) => run.policy === policy);
  const mean = median(mine.map((run) => run.ttftMeanMs));
  report(`replay-real ${policy}`, {
    requests_per_run: trace.length,
    rate_per_s: options.rate,
    workers: options.workers,
    slots: options.slots,
    ttft_mean_ms: mean,
    ttft_p50_ms: median(mine.map((run) => run.ttftP50Ms)),
    ttft_p99_ms: median(mine.map((run) => run.ttftP99Ms)),
    cached_share: median(mine.map((run) => run.cachedShare)),
    round_robin_mean_over_this: baseline / mean,
    runs: mine.length,
  });
}
