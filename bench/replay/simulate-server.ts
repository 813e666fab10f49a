/**
 * The replay simulator closer to a real server (issue 24): each replica is a continuous-batching
 * server (`server-replica.ts`: chunked prefill sharing iterations with decode, KV memory shared by
 * running requests and the prefix cache), routers see token-level load, and every router is told
 * what became of each request (`ReplicaRouter.observe`), as the pool engine tells it. Same trace,
 * same arrivals for every policy. The old model (`simulate-pool.ts`) stays for the old figures.
 */
import type { ReplicaRouter, RoutingOutcome } from '../../src/core/replica-router.js';
import { maxPrefixKeys } from '../../src/cluster/routing/routing-keys.js';
import type { DeviceProfile } from './device-profiles.js';
import { blockTokens, type TraceRequest } from './load-trace.js';
import { ServerReplica, type ServerJob } from './server-replica.js';
import { EventQueue, percentile } from './simulate-pool.js';

/** Prompt characters per token the simulator reports to routers (routers learn the ratio). */
export const simulatedCharsPerToken = 4;

/** What to simulate. */
export interface ServerSimulationOptions {
  trace: readonly TraceRequest[];
  replicas: readonly DeviceProfile[];
  /** The router, made for this run: it may read the simulated replicas (the oracle) and the simulated clock. */
  router: (context: { replicas: readonly ServerReplica[]; now: () => number }) => ReplicaRouter;
  /** Arrivals come `scale` times faster than in the trace. */
  scale: number;
  slo: { ttftMs: number; tpotMs: number };
  /** Session id per request, for session affinity. */
  sessionOf?: (request: TraceRequest, index: number) => string | undefined;
  /** Prefill tokens per iteration (llama.cpp's n_ubatch, vLLM's chunked prefill budget). Default 512. */
  chunkTokens?: number;
  /** Prefix keys per request given to routers (its leading blocks). Default the server's, `maxPrefixKeys` (512). */
  maxKeys?: number;
  /** Every replica reports the prefix blocks it holds this often (a worker's heartbeat); 0 for never. Default 0. */
  cacheReportMs?: number;
  /** Blocks per report at most, most recent first. Default 4,096. */
  cacheReportLimit?: number;
  /** Replicas tell routers their KV size (`RoutingCandidate.kvTokens`). Default true. */
  tellKvSize?: boolean;
}

/** Figures of one run. */
export interface ServerSimulationResult {
  requests: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  ttftMeanMs: number;
  tpotMeanMs: number;
  tpotP99Ms: number;
  /** Output tokens per second over the run. */
  throughput: number;
  /** Requests per second that met both SLO bounds. */
  goodput: number;
  sloAttainment: number;
  /** Share of requests that missed the SLO on time per output token alone. */
  tpotMissShare: number;
  cacheHitRate: number;
  /** Mean milliseconds from a request's arrival to its admission (a free slot and room in KV memory). */
  admissionWaitMeanMs: number;
  /** Prompt tokens prefilled over what the pool could prefill in the arrivals' span (each replica at its speed). */
  prefillUtilisation: number;
  /** The busiest replica's share of requests over the mean share (the GPU replicas only, in a mixed pool). */
  maxShareOverMean: number;
  /** Requests sent to each replica, in the pool's order. */
  sentPerReplica: number[];
  /** Prompt tokens sent to each replica (cached or not), in the pool's order. */
  promptTokensPerReplica: number[];
}

/** Runs one policy over one trace on one pool. */
export function simulateServer(options: ServerSimulationOptions): ServerSimulationResult {
  const events = new EventQueue();
  const chunkTokens = options.chunkTokens ?? 512;
  const maxKeys = options.maxKeys ?? maxPrefixKeys;
  const jobs: ServerJob[] = [];
  // Made once the replicas exist; the replicas' hooks reach it through this.
  const made: { router?: ReplicaRouter } = {};
  const tell = (outcome: RoutingOutcome) => made.router?.observe?.(outcome);
  const hooks = {
    schedule: (atMs: number, run: () => void) => events.push(atMs, run),
    firstToken: (job: ServerJob) => tell({ kind: 'first-token', model: 'sim', requestId: String(job.index), replica: job.replica!.id }),
    ended: (job: ServerJob) =>
      tell({
        kind: 'ended',
        model: 'sim',
        requestId: String(job.index),
        replica: job.replica!.id,
        promptTokens: job.request.inputTokens,
        cachedTokens: job.cachedTokens,
      }),
  };
  const replicas = options.replicas.map(
    (profile, index) => new ServerReplica(`${profile.name}-${index}`, profile, chunkTokens, hooks, options.tellKvSize ?? true),
  );
  let nowMs = 0;
  const router = options.router({ replicas, now: () => nowMs });
  made.router = router;
  const reportMs = options.cacheReportMs ?? 0;
  const lastArrivalMs = (options.trace.at(-1)?.arrivalMs ?? 0) / options.scale;
  const limit = options.cacheReportLimit ?? 4096;
  for (let atMs = reportMs; reportMs > 0 && atMs <= lastArrivalMs; atMs += reportMs) {
    events.push(atMs, () => {
      for (const replica of replicas) {
        const blocks = replica.kv.resident(limit + 1);
        const prefixKeys = blocks.slice(0, limit).map(String);
        tell({ kind: 'cached', model: 'sim', requestId: '', replica: replica.id, prefixKeys, complete: blocks.length <= limit });
      }
    });
  }
  let privateId = -1;
  for (const [index, request] of options.trace.entries()) {
    const arrivalMs = request.arrivalMs / options.scale;
    // A trace without block ids: private blocks, never shared (no cache hits possible).
    const blocks = request.blocks ?? Array.from({ length: Math.ceil(request.inputTokens / blockTokens) }, () => privateId--);
    events.push(arrivalMs, () => {
      const sessionKey = options.sessionOf?.(request, index);
      const requestId = String(index);
      const ordered = router.order(
        {
          model: 'sim',
          requestId,
          prefixKeys: request.blocks?.slice(0, maxKeys).map(String),
          tokens: request.inputTokens + request.outputTokens,
          promptChars: request.inputTokens * simulatedCharsPerToken,
          ...(sessionKey !== undefined ? { sessionKey } : {}),
        },
        replicas,
      );
      const replica = ordered[0]!;
      const hit = Math.min(replica.kv.peek(blocks), Math.floor((request.inputTokens - 1) / blockTokens));
      const job: ServerJob = {
        request,
        index,
        arrivalMs,
        blocks,
        expectedUncached: request.inputTokens - hit * blockTokens,
        hitBlocks: 0,
        privateBlocks: 0,
        prefillLeft: request.inputTokens,
        decodeLeft: request.outputTokens,
        cachedTokens: 0,
      };
      jobs.push(job);
      tell({ kind: 'sent', model: 'sim', requestId, replica: replica.id });
      replica.enqueue(job, arrivalMs);
    });
  }
  for (let event = events.pop(); event; event = events.pop()) {
    nowMs = event.at;
    event.run();
  }
  return summarise(options, jobs, replicas);
}

function summarise(options: ServerSimulationOptions, jobs: readonly ServerJob[], replicas: readonly ServerReplica[]): ServerSimulationResult {
  const unfinished = jobs.filter((job) => job.doneMs === undefined).length;
  if (unfinished > 0) throw new Error(`${unfinished} requests never finished: a prompt larger than a replica's KV memory?`);
  const ttft = jobs.map((job) => job.firstTokenMs! - job.arrivalMs).sort((a, b) => a - b);
  const tpotOf = (job: ServerJob) => (job.request.outputTokens > 1 ? (job.doneMs! - job.firstTokenMs!) / (job.request.outputTokens - 1) : 0);
  const tpot = jobs.map(tpotOf).sort((a, b) => a - b);
  const endMs = Math.max(...jobs.map((job) => job.doneMs!));
  const seconds = endMs / 1000;
  const meets = (job: ServerJob) => job.firstTokenMs! - job.arrivalMs <= options.slo.ttftMs && tpotOf(job) <= options.slo.tpotMs;
  const good = jobs.filter(meets).length;
  const tpotMisses = jobs.filter((job) => job.firstTokenMs! - job.arrivalMs <= options.slo.ttftMs && tpotOf(job) > options.slo.tpotMs).length;
  const prompt = jobs.reduce((total, job) => total + job.request.inputTokens, 0);
  const cached = jobs.reduce((total, job) => total + job.cachedTokens, 0);
  const first = options.trace[0]?.arrivalMs ?? 0;
  const spanMs = ((options.trace.at(-1)?.arrivalMs ?? first) - first) / options.scale;
  const prefilled = replicas.reduce((total, replica) => total + replica.prefilledTokens, 0);
  const capacityPerMs = replicas.reduce((total, replica) => total + replica.profile.prefillTokensPerSecond / 1000, 0);
  // Hot spots among equals: the fastest kind of replica (a mixed pool's CPUs take overflow by design).
  const fastest = Math.max(...replicas.map((replica) => replica.weight));
  const peers = replicas.filter((replica) => replica.weight === fastest);
  const meanShare = peers.reduce((total, replica) => total + replica.sent, 0) / peers.length;
  return {
    requests: jobs.length,
    ttftP50Ms: percentile(ttft, 0.5),
    ttftP99Ms: percentile(ttft, 0.99),
    ttftMeanMs: ttft.reduce((total, value) => total + value, 0) / ttft.length,
    tpotMeanMs: tpot.reduce((total, value) => total + value, 0) / tpot.length,
    tpotP99Ms: percentile(tpot, 0.99),
    throughput: jobs.reduce((total, job) => total + job.request.outputTokens, 0) / seconds,
    goodput: good / seconds,
    sloAttainment: good / jobs.length,
    tpotMissShare: tpotMisses / jobs.length,
    cacheHitRate: prompt > 0 ? cached / prompt : 0,
    admissionWaitMeanMs: jobs.reduce((total, job) => total + job.admittedMs! - job.arrivalMs, 0) / jobs.length,
    prefillUtilisation: spanMs > 0 ? prefilled / (capacityPerMs * spanMs) : 0,
    maxShareOverMean: meanShare > 0 ? Math.max(...peers.map((replica) => replica.sent)) / meanShare : 0,
    sentPerReplica: replicas.map((replica) => replica.sent),
    promptTokensPerReplica: replicas.map((replica) => jobs.reduce((total, job) => total + (job.replica === replica ? job.request.inputTokens : 0), 0)),
  };
}
