/**
 * What estimated-ttft routing costs per request (issue 24): ordering 64 candidates for a request
 * of 32 block hashes while 100,000 prefixes are tracked, timed call by call (each call also
 * records the request and inserts its keys, as in service), and the heap those prefixes take.
 *
 *   node --expose-gc --import tsx bench/replay/router-cost.ts [--orders 20000]
 */
import { parseArgs } from 'node:util';
import { EstimatedTtftRouter } from '../../src/cluster/routing/estimated-ttft-router.js';
import type { RoutingCandidate } from '../../src/core/replica-router.js';
import { percentile } from './simulate-pool.js';

const { values } = parseArgs({
  options: { orders: { type: 'string', default: '20000' }, candidates: { type: 'string', default: '64' }, prefixes: { type: 'string', default: '100000' } },
});
const orders = Number(values.orders);
const count = Number(values.candidates);
const prefixes = Number(values.prefixes);
const perReplica = Math.ceil(prefixes / count);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('run with node --expose-gc for the memory figure');

// Chained-hash-like keys (7 base-36 characters, as routing-keys.ts makes them).
const key = (value: number) => ((value * 2654435761) >>> 0).toString(36).padStart(7, '0');
const candidates: RoutingCandidate[] = Array.from({ length: count }, (_, index) => ({
  id: `worker-${index}/replica-${index}`,
  inFlight: index % 5,
  outstandingTokens: 1000 * (index % 7),
}));

gc?.();
const before = process.memoryUsage().heapUsed;
const router = new EstimatedTtftRouter({ indexBlocksPerReplica: perReplica });
// Each replica holds perReplica keys: prompts of 32 blocks, each prompt on one replica.
let next = 0;
for (const candidate of candidates) {
  for (let held = 0; held < perReplica; held += 32) {
    const keys = Array.from({ length: Math.min(32, perReplica - held) }, () => key(next++));
    router.observe({ kind: 'cached', model: 'm', requestId: '', replica: candidate.id, prefixKeys: keys, complete: false });
  }
}
gc?.();
const tracked = router.trackedKeys;
const bytes = process.memoryUsage().heapUsed - before;

const times: number[] = [];
for (let index = 0; index < orders; index += 1) {
  // Half the requests continue a held prompt for 16 blocks, then diverge; half are new.
  const start = index % 2 === 0 ? Math.floor(((index * 7919) % Math.max(1, next - 32)) / 32) * 32 : next + index * 64;
  const keys = Array.from({ length: 32 }, (_, block) => key(index % 2 === 0 && block < 16 ? start + block : 1e9 + index * 32 + block));
  const request = { model: 'm', requestId: `r${index}`, prefixKeys: keys, promptChars: 32 * 2048 };
  const began = process.hrtime.bigint();
  const ordered = router.order(request, candidates);
  times.push(Number(process.hrtime.bigint() - began) / 1000);
  router.observe({ kind: 'ended', model: 'm', requestId: request.requestId, replica: ordered[0]!.id });
}
const measured = times.slice(Math.floor(orders / 10)).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    candidates: count,
    prefixes_tracked: tracked,
    keys_per_request: 32,
    orders: measured.length,
    order_p50_us: Number(percentile(measured, 0.5).toFixed(1)),
    order_p99_us: Number(percentile(measured, 0.99).toFixed(1)),
    heap_mb_for_tracked: gc ? Number((bytes / 1e6).toFixed(1)) : null,
    bytes_per_prefix: gc ? Math.round(bytes / tracked) : null,
  }),
);
