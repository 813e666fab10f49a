/**
 * What estimated-ttft routing costs per request (issue 24): ordering 64 candidates for a request
 * of 32 block hashes while 100,000 prefixes are tracked, timed call by call (each call also
 * records the request and inserts its keys, as in service), and the heap those prefixes take.
 * Paired against the router as it was before the rework for speed (`--baseline`, kept in
 * test/support/routing-reference): the same requests go to both, in alternating order, and every
 * choice must agree.
 *
 *   node --expose-gc --import tsx bench/replay/router-cost.ts [--orders 20000] [--flow served|failed] [--router both|current|baseline] [--against DIR] [--keys 32] [--kv-blocks 1600]
 *
 * `--against DIR` pairs with the router of another checkout instead (DIR/src/cluster/routing/), as
 * of a commit: `git archive COMMIT src | tar -x -C DIR`, with node_modules and package.json beside.
 * `--router current` (or `baseline`) runs one alone: paired, each router's garbage can pause the other.
 *
 * `--flow served` (default) tells each router what a served request tells it (sent, first token,
 * ended with its usage); `failed` ends each try without usage, as a failed one, so requests stay
 * pending up to the router's bound (how the first version of this bench ran).
 *
 * `--keys N` sends requests of N block hashes (default 32; half continue a held prompt for N/2
 * blocks): since keys cover up to 512 blocks (decision 0027), a long prompt costs in proportion.
 * `--kv-blocks N` has the candidates tell a KV size of N 512-token blocks (as pool workers do; by
 * default they tell none): the router then indexes a prompt at its first token, not in `order`.
 */
import { resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { EstimatedTtftRouter } from '../../src/cluster/routing/estimated-ttft-router.js';
import type { ReplicaRouter, RoutingCandidate } from '../../src/core/replica-router.js';
import { EstimatedTtftRouter as ReferenceRouter } from '../../test/support/routing-reference/estimated-ttft-router.js';
import { percentile } from './simulate-pool.js';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '20000' },
    candidates: { type: 'string', default: '64' },
    prefixes: { type: 'string', default: '100000' },
    flow: { type: 'string', default: 'served' },
    router: { type: 'string', default: 'both' },
    against: { type: 'string' },
    keys: { type: 'string', default: '32' },
    'kv-blocks': { type: 'string' },
  },
});
const orders = Number(values.orders);
const count = Number(values.candidates);
const prefixes = Number(values.prefixes);
const served = values.flow !== 'failed';
const keysPerRequest = Number(values.keys);
const kvBlocks = values['kv-blocks'] === undefined ? undefined : Number(values['kv-blocks']);
const perReplica = Math.ceil(prefixes / count);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('run with node --expose-gc for the memory figure');

// Chained-hash-like keys (7 base-36 characters, as routing-keys.ts makes them).
const key = (value: number) => ((value * 2654435761) >>> 0).toString(36).padStart(7, '0');
const candidates: RoutingCandidate[] = Array.from({ length: count }, (_, index) => ({
  id: `worker-${index}/replica-${index}`,
  inFlight: index % 5,
  outstandingTokens: 1000 * (index % 7),
  ...(kvBlocks !== undefined ? { kvTokens: kvBlocks * 512 } : {}),
}));

let clock = 0;
const now = () => clock;

interface Side {
  name: string;
  router: ReplicaRouter & { readonly trackedKeys: number };
  bytes: number;
  times: number[];
  /** When each call began (performance.now()), to tell the calls a garbage collection paused. */
  starts: number[];
}

/** The JS heap plus typed arrays' buffers (held outside it). */
const heapAndBuffers = () => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

/** A router holding perReplica keys on each replica (prompts of 32 blocks, each on one replica), and the heap they take. */
function build(name: string, make: () => Side['router']): Side {
  gc?.();
  const before = heapAndBuffers();
  const router = make();
  let next = 0;
  for (const candidate of candidates) {
    for (let held = 0; held < perReplica; held += 32) {
      const keys = Array.from({ length: Math.min(32, perReplica - held) }, () => key(next++));
      router.observe!({ kind: 'cached', model: 'm', requestId: '', replica: candidate.id, prefixKeys: keys, complete: false });
    }
  }
  gc?.();
  return { name, router, bytes: heapAndBuffers() - before, times: [], starts: [] };
}

const options = { indexBlocksPerReplica: perReplica, now };
const BaselineRouter: typeof ReferenceRouter = values.against
  ? ((await import(resolve(values.against, 'src/cluster/routing/estimated-ttft-router.ts'))) as { EstimatedTtftRouter: typeof ReferenceRouter })
      .EstimatedTtftRouter
  : ReferenceRouter;
const baselineName = values.against ? `baseline (${values.against})` : 'baseline (before the rework)';
const baseline = values.router === 'current' ? undefined : build(baselineName, () => new BaselineRouter(options));
const current = values.router === 'baseline' ? undefined : build('current', () => new EstimatedTtftRouter(options));
const sides = [baseline, current].filter((side) => side !== undefined);
const held = 64 * perReplica;

const collections: Array<[number, number]> = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push([entry.startTime, entry.duration]);
});
gcObserver.observe({ entryTypes: ['gc'] });

let disagreements = 0;
for (let index = 0; index < orders; index += 1) {
  // Half the requests continue a held prompt for half their blocks, then diverge; half are new.
  const start = index % 2 === 0 ? Math.floor(((index * 7919) % Math.max(1, held - keysPerRequest)) / 32) * 32 : 0;
  const keys = Array.from({ length: keysPerRequest }, (_, block) =>
    key(index % 2 === 0 && block < keysPerRequest / 2 ? start + block : 1e9 + index * keysPerRequest + block),
  );
  const request = { model: 'm', requestId: `r${index}`, prefixKeys: keys, promptChars: keysPerRequest * 2048 };
  const chosen: string[] = [];
  // Alternate which router goes first, so neither always runs on a cache the other warmed.
  for (const side of index % 2 === 0 ? sides : [...sides].reverse()) {
    side.starts.push(performance.now());
    const began = process.hrtime.bigint();
    const ordered = side.router.order(request, candidates);
    side.times.push(Number(process.hrtime.bigint() - began) / 1000);
    const replica = ordered[0]!.id;
    chosen.push(replica);
    const outcome = { model: 'm', requestId: request.requestId, replica };
    side.router.observe!({ ...outcome, kind: 'sent' });
    if (served) side.router.observe!({ ...outcome, kind: 'first-token' });
    side.router.observe!({ ...outcome, kind: 'ended', ...(served ? { promptTokens: keysPerRequest * 512 } : {}) });
  }
  if (chosen.length === 2 && chosen[0] !== chosen[1]) disagreements += 1;
  clock += 5;
}

// Garbage collections, reported after the run: how many of the slowest 1% of calls one of them paused.
await new Promise((resolve) => setTimeout(resolve, 20));
gcObserver.disconnect();
const figures = (side: Side) => {
  const skip = Math.floor(orders / 10);
  const measured = side.times.slice(skip).sort((a, b) => a - b);
  const p99 = percentile(measured, 0.99);
  let slow = 0;
  let duringGc = 0;
  for (let index = skip; index < side.times.length; index += 1) {
    if (side.times[index]! < p99) continue;
    slow += 1;
    const [start, end] = [side.starts[index]!, side.starts[index]! + side.times[index]! / 1000];
    if (collections.some(([at, took]) => at < end && at + took > start)) duringGc += 1;
  }
  return {
    p50: percentile(measured, 0.5),
    p99,
    slow,
    duringGc,
    mb: side.bytes / 1e6,
    bytesPerPrefix: side.bytes / side.router.trackedKeys,
  };
};
for (const side of sides) {
  const figure = figures(side);
  console.log(
    JSON.stringify({
      router: side.name,
      flow: served ? 'served' : 'failed',
      candidates: count,
      prefixes_tracked: side.router.trackedKeys,
      keys_per_request: keysPerRequest,
      orders: Math.ceil(orders * 0.9),
      order_p50_us: Number(figure.p50.toFixed(1)),
      order_p99_us: Number(figure.p99.toFixed(1)),
      slowest_1pct_during_gc: `${figure.duringGc} of ${figure.slow}`,
      heap_and_buffers_mb_for_tracked: gc ? Number(figure.mb.toFixed(1)) : null,
      bytes_per_prefix: gc ? Math.round(figure.bytesPerPrefix) : null,
    }),
  );
}
if (baseline && current) {
  const [before, after] = [figures(baseline), figures(current)];
  console.log(
    `current / baseline: p50 ${(after.p50 / before.p50).toFixed(2)}x, p99 ${(after.p99 / before.p99).toFixed(2)}x, memory ${(after.mb / before.mb).toFixed(2)}x; first choices that differ: ${disagreements} of ${orders}`,
  );
}
