/**
 * One replica as a continuous-batching server runs it (vLLM, llama-server with a unified KV
 * cache): iterations, each one decode step for every request past its first token plus a chunk
 * of prefill (`chunkTokens`, FCFS), so a long prompt being prefilled slows every decode on the
 * replica, and time per output token can break the SLO. Requests are admitted in arrival order
 * while a slot is free and the KV memory (shared with the prefix cache, `kv-blocks.ts`) has room
 * for their uncached prompt and their output; the rest wait.
 */
import type { RoutingCandidate } from '../../src/core/replica-router.js';
import type { DeviceProfile } from './device-profiles.js';
import { KvBlocks } from './kv-blocks.js';
import { blockTokens, type TraceRequest } from './load-trace.js';

/** A request on its way through a replica. */
export interface ServerJob {
  request: TraceRequest;
  index: number;
  arrivalMs: number;
  /** Its prompt as block ids (the trace's, or private ids for a trace without them). */
  blocks: readonly number[];
  /** Uncached prompt tokens when it was sent (the cache may change before it is admitted). */
  expectedUncached: number;
  replica?: ServerReplica;
  hitBlocks: number;
  privateBlocks: number;
  prefillLeft: number;
  decodeLeft: number;
  /** When a slot and KV memory took it (its wait before that is admission, not prefill). */
  admittedMs?: number;
  firstTokenMs?: number;
  doneMs?: number;
  cachedTokens: number;
}

/** Called when a job gets its first token and when it ends. */
export interface ReplicaEvents {
  firstToken(job: ServerJob, atMs: number): void;
  ended(job: ServerJob, atMs: number): void;
  /** Runs `run` at `atMs` (the simulation's event queue). */
  schedule(atMs: number, run: () => void): void;
}

/** A simulated server replica; also the candidate routers see (token-level load, live figures). */
export class ServerReplica implements RoutingCandidate {
  readonly kv: KvBlocks;
  readonly waiting: ServerJob[] = [];
  readonly running: ServerJob[] = [];
  /** Prompt tokens still to prefill plus output tokens still to generate, of every request here. */
  outstandingTokens = 0;
  /** Uncached prompt tokens waiting or being prefilled (what the oracle queues behind). */
  queuedPrefill = 0;
  /** Milliseconds spent prefilling (for the pool's prefill utilisation). */
  prefillBusyMs = 0;
  /** Prompt tokens prefilled here. */
  prefilledTokens = 0;
  /** Requests sent here. */
  sent = 0;
  private busy = false;

  constructor(
    readonly id: string,
    readonly profile: DeviceProfile,
    private readonly chunkTokens: number,
    private readonly events: ReplicaEvents,
    /** Whether routers are told its KV size (`kvTokens`); false: they learn it. */
    private readonly tellsKvSize = true,
  ) {
    this.kv = new KvBlocks(profile.cacheBlocks);
  }

  get inFlight(): number {
    return this.waiting.length + this.running.length;
  }

  get weight(): number {
    return this.profile.weight;
  }

  /** Its KV memory in tokens (what a worker knows: context x slots), where routers are told it. */
  get kvTokens(): number | undefined {
    return this.tellsKvSize ? this.profile.cacheBlocks * blockTokens : undefined;
  }

  /** Requests past their first token (the decode batch). */
  get decoding(): number {
    let count = 0;
    for (const job of this.running) if (job.prefillLeft === 0) count += 1;
    return count;
  }

  /** Milliseconds of one decode step with `batch` sequences. */
  decodeStepMs(batch: number): number {
    return batch > 0 ? this.profile.decodeStepMs + this.profile.decodeStepPerSequenceMs * (batch - 1) : 0;
  }

  /** Takes a request and starts working if idle. */
  enqueue(job: ServerJob, nowMs: number): void {
    job.replica = this;
    this.sent += 1;
    this.waiting.push(job);
    this.outstandingTokens += job.request.inputTokens + job.request.outputTokens;
    this.queuedPrefill += job.expectedUncached;
    if (!this.busy) this.iterate(nowMs);
  }

  private admit(nowMs: number): void {
    while (this.waiting.length > 0 && this.running.length < this.profile.slots) {
      const job = this.waiting[0]!;
      const input = job.request.inputTokens;
      // The last prompt token is always computed (it yields the first output token).
      const hit = Math.min(this.kv.peek(job.blocks), Math.floor((input - 1) / blockTokens));
      const fresh = job.blocks.length - hit + Math.ceil(job.request.outputTokens / blockTokens);
      if (!this.kv.admit(job.blocks, hit, fresh)) break;
      this.waiting.shift();
      job.admittedMs = nowMs;
      job.hitBlocks = hit;
      job.privateBlocks = fresh;
      job.cachedTokens = hit * blockTokens;
      job.prefillLeft = input - job.cachedTokens;
      job.decodeLeft = job.request.outputTokens - 1;
      this.outstandingTokens -= job.cachedTokens;
      this.queuedPrefill += job.prefillLeft - job.expectedUncached;
      this.running.push(job);
    }
  }

  private iterate(nowMs: number): void {
    this.admit(nowMs);
    if (this.running.length === 0) {
      this.busy = false;
      return;
    }
    this.busy = true;
    const decoders = this.running.filter((job) => job.prefillLeft === 0);
    const chunk: Array<[ServerJob, number]> = [];
    let budget = this.chunkTokens;
    for (const job of this.running) {
      if (budget === 0) break;
      if (job.prefillLeft === 0) continue;
      const take = Math.min(job.prefillLeft, budget);
      chunk.push([job, take]);
      budget -= take;
    }
    const prefillMs = ((this.chunkTokens - budget) / this.profile.prefillTokensPerSecond) * 1000;
    this.prefillBusyMs += prefillMs;
    this.prefilledTokens += this.chunkTokens - budget;
    const endMs = nowMs + prefillMs + this.decodeStepMs(decoders.length);
    this.events.schedule(endMs, () => this.finishIteration(endMs, decoders, chunk));
  }

  private finishIteration(nowMs: number, decoders: readonly ServerJob[], chunk: ReadonlyArray<[ServerJob, number]>): void {
    for (const job of decoders) {
      job.decodeLeft -= 1;
      this.outstandingTokens -= 1;
      if (job.decodeLeft === 0) this.end(job, nowMs);
    }
    for (const [job, take] of chunk) {
      job.prefillLeft -= take;
      this.outstandingTokens -= take;
      this.queuedPrefill -= take;
      if (job.prefillLeft > 0) continue;
      job.firstTokenMs = nowMs;
      this.outstandingTokens -= 1;
      this.kv.computed(job.blocks, job.hitBlocks);
      job.privateBlocks -= job.blocks.length - job.hitBlocks;
      this.events.firstToken(job, nowMs);
      if (job.decodeLeft === 0) this.end(job, nowMs);
    }
    this.iterate(nowMs);
  }

  private end(job: ServerJob, nowMs: number): void {
    job.doneMs = nowMs;
    this.running.splice(this.running.indexOf(job), 1);
    this.kv.release(job.blocks, job.blocks.length, job.privateBlocks);
    this.events.ended(job, nowMs);
  }
}
