// The estimated-ttft router as it was before its rework for speed (commit 4021ba2, issue 24), kept
// to check that the reworked one decides the same (src/cluster/routing/estimated-ttft-equivalence.test.ts)
// and to time against it (bench/replay/router-cost.ts). Not used by the server. Changed once on
// purpose since: the index's room per replica is its KV memory less what the requests in flight
// hold, and a replica that says its KV size has a prompt's keys indexed once computed (decision
// 0026, src/cluster/routing/cache-room.ts), the same logic as the reworked router's.
/**
 * Estimated-TTFT routing (issue 24): each request goes to the replica where its first token is
 * expected soonest, counting the prefill queued there, this prompt's part that replica does not
 * hold in its prefix cache, and the decodes slowing its prefill (as Mooncake's Conductor, llm-d's
 * scorers and Llumnix weigh placements). Everything it reads it learns from what engines report
 * through `observe`: what each replica caches (a shadow prefix index of the prompts whose first
 * token came back from it), its prefill speed (from the time to each first token, with a prior for
 * a cold start), and characters per token per model (from the usage of each answer). Without
 * reports it still spreads load: its queue estimates drain with time at the prior speed.
 */
import type { ReplicaRouter, RoutingCandidate, RoutingOutcome, RoutingRequest } from '../../../src/core/replica-router.js';
import { PrefixIndex } from './prefix-index.js';
import { prefixBlockChars } from '../../../src/cluster/routing/routing-keys.js';
import { LearnedRatio, estimateTtftMs, observedPrefillMs, queueAfterSend, uncachedTokens } from '../../../src/cluster/routing/ttft-score.js';
import { ReplicaRoom, privateBlocks } from '../../../src/cluster/routing/cache-room.js';

/** Options of `EstimatedTtftRouter`; merged over `defaultEstimatedTtftOptions`. */
export interface EstimatedTtftOptions {
  /** Characters per prefix key's block (the `routing.prefixBlockChars` the keys were hashed with). */
  prefixBlockChars: number;
  /** Prefix keys tracked per replica at first (shrunk for a replica whose answers show it evicts sooner). */
  indexBlocksPerReplica: number;
  /** Prefill tokens per second assumed for the fastest replica before any measurement; others in proportion to their weight. */
  priorTokensPerSecond: number;
  /** Prompt characters per token assumed before any answer reports usage. */
  priorCharsPerToken: number;
  /** Share by which each decoding request slows a replica's prefill. */
  decodeWeight: number;
  /** Monotonic milliseconds (injected: the simulator runs on its own clock). */
  now: () => number;
  /** Requests remembered between `order` and their end; the oldest are dropped past this (an engine that never reports). */
  maxPending: number;
}

/** Defaults: 8,192 keys (4M tokens of 512-token blocks) per replica, a modest GPU's prefill, 4 characters a token. */
export const defaultEstimatedTtftOptions: EstimatedTtftOptions = {
  prefixBlockChars,
  indexBlocksPerReplica: 8192,
  priorTokensPerSecond: 2000,
  priorCharsPerToken: 4,
  decodeWeight: 0.01,
  now: () => performance.now(),
  maxPending: 10_000,
};

interface ReplicaState {
  /** When the prefill queued on it should be done, by this router's estimate. */
  busyUntilMs: number;
  /** Sum of corrections applied to `busyUntilMs` from first tokens earlier or later than estimated. */
  shiftMs: number;
  lastFirstTokenMs: number;
  /** Requests sent to it whose first token has not come. */
  waiting: number;
  speed: LearnedRatio;
  lastSeenMs: number;
  room: ReplicaRoom;
}

interface Pending {
  model: string;
  replica: string;
  keys: readonly string[];
  promptChars: number;
  promptTokens: number;
  /** Leading keys the replica held when it was sent. */
  matchedBlocks: number;
  uncached: number;
  prefillMs: number;
  sentAtMs: number;
  firstTokenAtMs: number;
  shiftAtSendMs: number;
  firstToken: boolean;
  /** No other request was waiting for its first token on the replica when it was sent: every key promised was computed. */
  settledAtSend: boolean;
  /** Its try failed before a first token: off every queue until the engine sends it again. */
  detached: boolean;
  /** Milliseconds its prefill took, as its first token showed (learned from once its usage says how much was computed). */
  observedPrefillMs?: number;
  outputTokens: number;
  heldBlocks: number;
}

/** Orders replicas by estimated time to first token; learns from `observe`. */
export class EstimatedTtftRouter implements ReplicaRouter {
  private readonly options: EstimatedTtftOptions;
  private readonly index: PrefixIndex;
  private readonly replicas = new Map<string, ReplicaState>();
  private readonly pending = new Map<string, Pending>();
  private readonly charsPerToken = new Map<string, LearnedRatio>();
  private turn = 0;

  constructor(options: Partial<EstimatedTtftOptions> = {}) {
    this.options = { ...defaultEstimatedTtftOptions, ...options } satisfies EstimatedTtftOptions;
    for (const name of ['prefixBlockChars', 'indexBlocksPerReplica', 'priorTokensPerSecond', 'priorCharsPerToken', 'maxPending'] as const) {
      if (!(this.options[name] > 0)) throw new Error(`estimated-ttft option ${name} must be positive, got ${this.options[name]}`);
    }
    this.index = new PrefixIndex(this.options.indexBlocksPerReplica);
  }

  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[] {
    if (candidates.length === 0) return [];
    const now = this.options.now();
    const keys = request.prefixKeys ?? [];
    const ratio = this.ratioOf(request.model).value;
    const tokensPerBlock = this.options.prefixBlockChars / ratio;
    const promptChars = request.promptChars ?? keys.length * this.options.prefixBlockChars;
    const promptTokens = Math.max(1, Math.round(promptChars / ratio));
    const matched = this.index.match(
      keys,
      candidates.map((candidate) => candidate.id),
    );
    const fastest = Math.max(...candidates.map(weightOf));
    const offset = this.turn++ % candidates.length;
    const scored = candidates.map((candidate, position) => {
      const state = this.stateOf(candidate, fastest, now);
      const uncached = uncachedTokens(promptTokens, matched[position]!, tokensPerBlock);
      const inputs = {
        queuedMs: state.busyUntilMs - now,
        uncachedTokens: uncached,
        tokensPerSecond: state.speed.value,
        decoding: Math.max(0, candidate.inFlight - state.waiting),
        decodeWeight: this.options.decodeWeight,
      };
      return {
        candidate,
        ms: estimateTtftMs(inputs),
        load: (candidate.outstandingTokens ?? candidate.inFlight) / weightOf(candidate),
        rank: (position - offset + candidates.length) % candidates.length,
        uncached,
        matched: matched[position]!,
        ownMs: estimateTtftMs({ ...inputs, queuedMs: 0 }),
      };
    });
    // Lowest estimate first; equal estimates go to the less loaded, then rotate (an idle pool shares the traffic).
    scored.sort((a, b) => a.ms - b.ms || a.load - b.load || a.rank - b.rank);
    const chosen = scored[0]!;
    const outputTokens = Math.max(0, (request.tokens ?? promptTokens) - promptTokens);
    this.remember(request, { model: request.model, replica: chosen.candidate.id, keys, promptChars, promptTokens, outputTokens }, chosen, now);
    this.forgetGone(now);
    return scored.map((entry) => entry.candidate);
  }

  observe(outcome: RoutingOutcome): void {
    if (outcome.kind === 'cached') {
      this.cached(outcome.model, outcome.replica, outcome.prefixKeys ?? [], outcome.complete ?? true);
      return;
    }
    const entry = this.pending.get(outcome.requestId);
    if (!entry) return;
    const now = this.options.now();
    if (outcome.kind === 'sent') {
      if (outcome.replica !== entry.replica || entry.detached) this.move(entry, outcome.replica, now);
      entry.sentAtMs = now;
      return;
    }
    if (outcome.kind === 'first-token') {
      if (outcome.replica !== entry.replica) this.move(entry, outcome.replica, now);
      this.firstToken(entry, now);
      return;
    }
    if (!entry.firstToken && !entry.detached) this.unqueue(entry, now);
    this.hold(entry, false);
    // A try that failed before answering: the engine may send the request to the next replica.
    if (!entry.firstToken && outcome.promptTokens === undefined) {
      entry.detached = true;
      return;
    }
    this.pending.delete(outcome.requestId);
    // Decision 0027: an answered request's prompt goes back to its replica's cache at its end, the most recent (where the replica tells its KV size).
    if (entry.firstToken && entry.keys.length > 0 && this.replicas.get(entry.replica)?.room.told) this.index.insert(entry.replica, entry.keys);
    this.learnFromUsage(entry, outcome);
  }

  /**
   * A replica's report of what it caches replaces the index's guess for it, but not the prompts
   * this router sent there that have not ended: a report taken while one waits in the queue cannot
   * list it yet (at a 5 s heartbeat, dropping them cost more than the report gained in the
   * simulator), so their keys stay, as the most recent.
   */
  private cached(model: string, replica: string, keys: readonly string[], complete: boolean): void {
    const inFlight: Array<readonly string[]> = [];
    let count = 0;
    for (const entry of this.pending.values()) {
      if (entry.replica !== replica || entry.detached || entry.keys.length === 0) continue;
      inFlight.push(entry.keys.slice(0, this.indexedKeys(entry)));
      count += entry.keys.length;
    }
    // A complete report sets the replica's capacity to what it holds: room for those in flight too.
    this.index.replace(replica, keys, complete, Math.max(16, keys.length + count, this.index.capacity(replica)));
    for (const sent of inFlight) this.index.insert(replica, sent);
    const state = this.replicas.get(replica);
    if (!state) return;
    if (!state.room.told) state.room.learnedBlocks = Math.max(state.room.learnedBlocks, this.index.capacity(replica) + state.room.heldBlocks);
    this.index.setCapacity(replica, state.room.keys(this.tokensPerBlock(model)));
  }

  private indexedKeys(entry: Pending): number {
    if (entry.firstToken || !this.replicas.get(entry.replica)?.room.told) return entry.keys.length;
    return Math.min(entry.matchedBlocks, entry.keys.length);
  }

  private hold(entry: Pending, held: boolean): void {
    const state = this.replicas.get(entry.replica);
    const tokensPerBlock = this.tokensPerBlock(entry.model);
    const blocks = held && state?.room.told ? privateBlocks(entry.promptTokens, entry.outputTokens, this.indexedKeys(entry), tokensPerBlock) : 0;
    if (state) state.room.heldBlocks = Math.max(0, state.room.heldBlocks - entry.heldBlocks + blocks);
    entry.heldBlocks = blocks;
    if (state) this.index.setCapacity(entry.replica, state.room.keys(tokensPerBlock));
  }

  private tokensPerBlock(model: string): number {
    return this.options.prefixBlockChars / this.ratioOf(model).value;
  }

  /** Prefix keys tracked (for the bench's memory figure). */
  get trackedKeys(): number {
    return this.index.entries;
  }

  private remember(
    request: RoutingRequest,
    base: Pick<Pending, 'model' | 'replica' | 'keys' | 'promptChars' | 'promptTokens' | 'outputTokens'>,
    chosen: { uncached: number; matched: number; ownMs: number },
    now: number,
  ): void {
    const state = this.replicas.get(base.replica)!;
    const queue = queueAfterSend(state.busyUntilMs, now, chosen.ownMs);
    state.busyUntilMs = queue.busyUntilMs;
    const settledAtSend = state.waiting === 0;
    state.waiting += 1;
    const entry: Pending = {
      ...base,
      heldBlocks: 0,
      settledAtSend,
      matchedBlocks: chosen.matched,
      uncached: chosen.uncached,
      prefillMs: chosen.ownMs,
      sentAtMs: now,
      firstTokenAtMs: queue.busyUntilMs,
      shiftAtSendMs: state.shiftMs,
      firstToken: false,
      detached: false,
    };
    const earlier = this.pending.get(request.requestId);
    this.pending.delete(request.requestId);
    this.pending.set(request.requestId, entry);
    // What the router sent is what the replica will hold (as SGLang's router assumes); reports correct it.
    if (base.keys.length > 0) this.index.insert(base.replica, base.keys.slice(0, this.indexedKeys(entry)));
    if (earlier) this.hold(earlier, false);
    this.hold(entry, true);
    while (this.pending.size > this.options.maxPending) {
      const [oldest, dropped] = this.pending.entries().next().value!;
      this.pending.delete(oldest);
      const state = this.replicas.get(dropped.replica);
      if (state && !dropped.firstToken) state.waiting = Math.max(0, state.waiting - 1);
      this.hold(dropped, false);
    }
  }

  /** The engine tried another replica than the first in the order: the request's queue share moves there. */
  private move(entry: Pending, replica: string, now: number): void {
    if (!entry.firstToken && !entry.detached) this.unqueue(entry, now);
    this.hold(entry, false);
    entry.detached = false;
    const state = this.replicas.get(replica) ?? this.newState(this.options.priorTokensPerSecond, now);
    this.replicas.set(replica, state);
    const ratio = this.ratioOf(entry.model).value;
    const matched = this.index.match(entry.keys, [replica])[0]!;
    entry.replica = replica;
    entry.matchedBlocks = matched;
    entry.uncached = uncachedTokens(entry.promptTokens, matched, this.options.prefixBlockChars / ratio);
    entry.prefillMs = (entry.uncached / state.speed.value) * 1000;
    const queue = queueAfterSend(state.busyUntilMs, now, entry.prefillMs);
    state.busyUntilMs = queue.busyUntilMs;
    entry.settledAtSend = state.waiting === 0;
    state.waiting += 1;
    entry.firstTokenAtMs = queue.busyUntilMs;
    entry.shiftAtSendMs = state.shiftMs;
    entry.firstToken = false;
    this.hold(entry, true);
  }

  private firstToken(entry: Pending, now: number): void {
    if (entry.firstToken) return;
    entry.firstToken = true;
    const state = this.replicas.get(entry.replica);
    if (!state) return;
    state.waiting = Math.max(0, state.waiting - 1);
    entry.observedPrefillMs = observedPrefillMs(entry.sentAtMs, state.lastFirstTokenMs, now);
    state.lastFirstTokenMs = now;
    // Later (or sooner) than estimated: the requests queued behind it move by as much.
    const error = now - (entry.firstTokenAtMs + state.shiftMs - entry.shiftAtSendMs);
    state.shiftMs += error;
    state.busyUntilMs = state.waiting > 0 ? Math.max(now, state.busyUntilMs + error) : now;
    // Its prompt is computed there now: the most recently used in the replica's cache (what it holds
    // outside the index shrinks first, so the room is there for its keys).
    this.hold(entry, true);
    if (entry.keys.length > 0) this.index.insert(entry.replica, entry.keys);
  }

  /** A request gone before its first token: its share of the queue is not coming. */
  private unqueue(entry: Pending, now: number): void {
    const state = this.replicas.get(entry.replica);
    if (!state) return;
    state.waiting = Math.max(0, state.waiting - 1);
    state.busyUntilMs = state.waiting > 0 ? Math.max(now, state.busyUntilMs - entry.prefillMs) : Math.min(state.busyUntilMs, now);
  }

  private learnFromUsage(entry: Pending, outcome: RoutingOutcome): void {
    const state = this.replicas.get(entry.replica);
    const promptTokens = outcome.promptTokens ?? 0;
    // The speed from the tokens it computed: the usage's when reported, else this router's estimate.
    const computed = promptTokens > 0 ? promptTokens - (outcome.cachedTokens ?? 0) : entry.uncached;
    if (state && entry.observedPrefillMs !== undefined) state.speed.add(computed, entry.observedPrefillMs / 1000);
    if (promptTokens <= 0) return;
    const ratio = this.ratioOf(entry.model);
    ratio.add(entry.promptChars, promptTokens);
    // Only where every key promised had been computed when it was sent (keys of a prompt still in
    // prefill on that replica are promised, yet a replica may not reuse them before they are done).
    if (outcome.cachedTokens === undefined || entry.matchedBlocks === 0 || !entry.settledAtSend) return;
    // The replica served fewer cached tokens than the index promised: it evicts sooner than the index assumed.
    const tokensPerBlock = this.options.prefixBlockChars / ratio.value;
    const promised = Math.min(entry.matchedBlocks, Math.floor((promptTokens - 1) / tokensPerBlock));
    const served = outcome.cachedTokens / tokensPerBlock;
    if (!state) return;
    const size = this.index.size(entry.replica);
    if (state.room.learn(served + 1 < promised, size, size >= this.index.capacity(entry.replica))) {
      this.index.setCapacity(entry.replica, state.room.keys(tokensPerBlock));
    }
  }

  private stateOf(candidate: RoutingCandidate, fastest: number, now: number): ReplicaState {
    let state = this.replicas.get(candidate.id);
    if (!state) {
      state = this.newState((this.options.priorTokensPerSecond * weightOf(candidate)) / fastest, now);
      this.replicas.set(candidate.id, state);
    }
    state.room.kvTokens = candidate.kvTokens;
    state.lastSeenMs = now;
    return state;
  }

  private newState(tokensPerSecond: number, now: number): ReplicaState {
    // The prior is worth one 512-token prefill: a few real ones outweigh it.
    return {
      busyUntilMs: now,
      shiftMs: 0,
      lastFirstTokenMs: -Infinity,
      waiting: 0,
      speed: new LearnedRatio(tokensPerSecond, 512 / tokensPerSecond),
      lastSeenMs: now,
      room: new ReplicaRoom(this.options.indexBlocksPerReplica),
    };
  }

  private ratioOf(model: string): LearnedRatio {
    let ratio = this.charsPerToken.get(model);
    if (!ratio) {
      // Worth 4,096 tokens of prompts.
      ratio = new LearnedRatio(this.options.priorCharsPerToken, 4096);
      this.charsPerToken.set(model, ratio);
    }
    return ratio;
  }

  /** Every 4,096 orders, forgets replicas no order has offered for 10 minutes (they left the deployment). */
  private forgetGone(now: number): void {
    if (this.turn % 4096 !== 0) return;
    for (const [id, state] of this.replicas) {
      if (now - state.lastSeenMs < 600_000) continue;
      this.replicas.delete(id);
      this.index.forget(id);
    }
  }
}

function weightOf(candidate: RoutingCandidate): number {
  return candidate.weight !== undefined && candidate.weight > 0 ? candidate.weight : 1;
}
