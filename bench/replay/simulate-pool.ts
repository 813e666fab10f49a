/**
 * A discrete-event simulation of a pool of replicas serving a trace, routed by the same
 * `ReplicaRouter` code the server uses. Each replica prefills one prompt at a time (prefill is
 * compute-bound) for the tokens its LRU prefix cache lacks, then decodes in a batch with the
 * others it runs, up to its slots; the rest wait in its queue. Not modelled: chunked prefill
 * interleaving with decode, preemption, network time. Same trace and same load for every policy.
 */
import type { ReplicaRouter, RoutingCandidate } from '../../src/core/replica-router.js';
import type { DeviceProfile } from './device-profiles.js';
import { blockTokens, type TraceRequest } from './load-trace.js';
import { PrefixLru } from './prefix-lru.js';

/** What to simulate. */
export interface SimulationOptions {
  trace: readonly TraceRequest[];
  replicas: readonly DeviceProfile[];
  router: ReplicaRouter;
  /** Arrivals come `load` times faster than in the trace: 2 doubles the request rate. */
  load: number;
  /** A request meets its SLO when both hold (goodput counts those). */
  slo: { ttftMs: number; tpotMs: number };
  /** Session key per request for session affinity; none by default. */
  sessionOf?: (request: TraceRequest) => string | undefined;
}

/** Figures of one run. */
export interface SimulationResult {
  requests: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  ttftMeanMs: number;
  /** Mean time per output token after the first. */
  tpotMeanMs: number;
  /** Output tokens per second over the run. */
  throughput: number;
  /** Requests per second that met the SLO. */
  goodput: number;
  /** Share of requests that met the SLO. */
  sloAttainment: number;
  /** Share of prompt tokens served from a prefix cache. */
  cacheHitRate: number;
}

interface Job {
  request: TraceRequest;
  arrivalMs: number;
  ttftMs?: number;
  tpotMs?: number;
}

class Replica implements RoutingCandidate {
  readonly cache: PrefixLru;
  readonly queue: Job[] = [];
  prefilling: Job | undefined;
  decoding = 0;
  outstandingTokens = 0;

  constructor(
    readonly id: string,
    readonly profile: DeviceProfile,
  ) {
    this.cache = new PrefixLru(profile.cacheBlocks);
  }

  get inFlight(): number {
    return this.queue.length + (this.prefilling ? 1 : 0) + this.decoding;
  }

  get weight(): number {
    return this.profile.weight;
  }
}

/** A binary min-heap of timed events; equal times keep insertion order (shared with simulate-server.ts). */
export class EventQueue {
  private readonly heap: { at: number; order: number; run: () => void }[] = [];
  private counter = 0;

  push(at: number, run: () => void): void {
    const heap = this.heap;
    heap.push({ at, order: this.counter++, run });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  pop(): { at: number; run: () => void } | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && this.less(left, smallest)) smallest = left;
        if (right < heap.length && this.less(right, smallest)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.at < y.at || (x.at === y.at && x.order < y.order);
  }
}

/** Runs one policy over one trace on one pool. */
export function simulatePool(options: SimulationOptions): SimulationResult {
  const replicas = options.replicas.map((profile, index) => new Replica(`${profile.name}-${index}`, profile));
  const events = new EventQueue();
  const jobs: Job[] = [];
  let cachedTokens = 0;
  let promptTokens = 0;
  let lastMs = 0;

  const tryStart = (replica: Replica, now: number) => {
    if (replica.prefilling || replica.queue.length === 0 || replica.decoding >= replica.profile.slots) return;
    const job = replica.queue.shift()!;
    replica.prefilling = job;
    const blocks = job.request.blocks ?? [];
    const cached = Math.min(replica.cache.hit(blocks) * blockTokens, job.request.inputTokens - 1);
    cachedTokens += Math.max(0, cached);
    promptTokens += job.request.inputTokens;
    const prefillMs = ((job.request.inputTokens - Math.max(0, cached)) / replica.profile.prefillTokensPerSecond) * 1000;
    events.push(now + prefillMs, () => {
      const done = now + prefillMs;
      job.ttftMs = done - job.arrivalMs;
      replica.cache.insert(blocks);
      replica.prefilling = undefined;
      replica.outstandingTokens -= job.request.inputTokens;
      replica.decoding += 1;
      const step = replica.profile.decodeStepMs + replica.profile.decodeStepPerSequenceMs * (replica.decoding - 1);
      job.tpotMs = step;
      const finish = done + (job.request.outputTokens - 1) * step;
      events.push(finish, () => {
        replica.decoding -= 1;
        replica.outstandingTokens -= job.request.outputTokens;
        lastMs = Math.max(lastMs, finish);
        tryStart(replica, finish);
      });
      tryStart(replica, done);
    });
  };

  for (const [index, request] of options.trace.entries()) {
    const arrivalMs = request.arrivalMs / options.load;
    events.push(arrivalMs, () => {
      const job: Job = { request, arrivalMs };
      jobs.push(job);
      const sessionKey = options.sessionOf?.(request);
      const ordered = options.router.order(
        {
          model: 'sim',
          requestId: String(index),
          prefixKeys: request.blocks?.map(String),
          tokens: request.inputTokens + request.outputTokens,
          ...(sessionKey !== undefined ? { sessionKey } : {}),
        },
        replicas,
      );
      const replica = ordered[0]!;
      replica.outstandingTokens += request.inputTokens + request.outputTokens;
      replica.queue.push(job);
      tryStart(replica, arrivalMs);
    });
  }
  for (let event = events.pop(); event; event = events.pop()) event.run();

  const ttft = jobs.map((job) => job.ttftMs!).sort((a, b) => a - b);
  const seconds = lastMs / 1000;
  const good = jobs.filter((job) => job.ttftMs! <= options.slo.ttftMs && job.tpotMs! <= options.slo.tpotMs).length;
  return {
    requests: jobs.length,
    ttftP50Ms: percentile(ttft, 0.5),
    ttftP99Ms: percentile(ttft, 0.99),
    ttftMeanMs: ttft.reduce((total, value) => total + value, 0) / ttft.length,
    tpotMeanMs: jobs.reduce((total, job) => total + job.tpotMs!, 0) / jobs.length,
    throughput: jobs.reduce((total, job) => total + job.request.outputTokens, 0) / seconds,
    goodput: good / seconds,
    sloAttainment: good / jobs.length,
    cacheHitRate: promptTokens > 0 ? cachedTokens / promptTokens : 0,
  };
}

/** The value below which `share` of the sorted values lie (nearest rank). */
export function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}
