/**
 * Estimated-TTFT routing (issue 24): each request goes to the replica where its first token is
 * expected soonest, counting the prefill queued there, this prompt's part that replica does not
 * hold in its prefix cache, and the decodes slowing its prefill (as Mooncake's Conductor, llm-d's
 * scorers and Llumnix weigh placements). Everything it reads it learns from what engines report
 * through `observe`: what each replica caches (a shadow prefix index of the prompts whose first
 * token came back from it, bounded by the room its KV memory leaves beside the requests running
 * there where the replica tells its KV size: `cache-room.ts`), its prefill speed (from the time to each first token, with a prior for
 * a cold start), and characters per token per model (from the usage of each answer). Without
 * reports it still spreads load: its queue estimates drain with time at the prior speed.
 */
import type { ReplicaRouter, RoutingCandidate, RoutingOutcome, RoutingRequest } from '../../core/replica-router.js';
import { PendingRequests } from './pending-requests.js';
import { PrefixIndex } from './prefix-index.js';
import { CandidateScores } from './candidate-scores.js';
import { cappedPlace, promote } from './load-cap.js';
import { ReplicaRoom, privateBlocks } from './cache-room.js';
import type { Pending, ReplicaState } from './estimated-ttft-state.js';
import { LearnedRatio, observedPrefillMs, queueAfterSend, ttftMs, uncachedTokens } from './ttft-score.js';
import { defaultEstimatedTtftOptions, type EstimatedTtftOptions } from './estimated-ttft-options.js';

export { defaultEstimatedTtftOptions, type EstimatedTtftOptions } from './estimated-ttft-options.js';

/** Orders replicas by estimated time to first token; learns from `observe`. */
export class EstimatedTtftRouter implements ReplicaRouter {
  private readonly options: EstimatedTtftOptions;
  private readonly index: PrefixIndex;
  private readonly replicas = new Map<string, ReplicaState>();
  private readonly pending = new PendingRequests<Pending>();
  private readonly charsPerToken = new Map<string, LearnedRatio>();
  private turn = 0;
  private readonly scores = new CandidateScores();
  /** Each candidate's state during one `order` call, and the id it was found by (kept for the next call; cleared when a replica is forgotten). */
  private readonly states: ReplicaState[] = [];
  private readonly stateIds: string[] = [];

  constructor(options: Partial<EstimatedTtftOptions> = {}) {
    this.options = { ...defaultEstimatedTtftOptions, ...options } satisfies EstimatedTtftOptions;
    for (const name of ['prefixBlockChars', 'indexBlocksPerReplica', 'priorTokensPerSecond', 'priorCharsPerToken', 'maxPending'] as const) {
      if (!(this.options[name] > 0)) throw new Error(`estimated-ttft option ${name} must be positive, got ${this.options[name]}`);
    }
    if (!(this.options.loadCap >= 0)) throw new Error(`estimated-ttft option loadCap must be 0 (off) or positive, got ${this.options.loadCap}`);
    this.index = new PrefixIndex(this.options.indexBlocksPerReplica);
  }

  order<T extends RoutingCandidate>(request: RoutingRequest, candidates: readonly T[]): T[] {
    const count = candidates.length;
    if (count === 0) return [];
    const now = this.options.now();
    const keys = request.prefixKeys ?? [];
    const ratio = this.ratioOf(request.model).value;
    const tokensPerBlock = this.options.prefixBlockChars / ratio;
    const promptChars = request.promptChars ?? keys.length * this.options.prefixBlockChars;
    const promptTokens = Math.max(1, Math.round(promptChars / ratio));
    const scores = this.scores;
    scores.reserve(count);
    const states = this.states;
    // Each candidate's state, found by id (a Map lookup a candidate) only when the candidate in that
    // place differs from the last call's: pools offer the same replicas in the same order.
    const ids = this.stateIds;
    let fastest = 0;
    for (let position = 0; position < count; position += 1) {
      const candidate = candidates[position]!;
      let state = states[position];
      if (state === undefined || ids[position] !== candidate.id) {
        if (fastest === 0) for (let other = 0; other < count; other += 1) fastest = Math.max(fastest, weightOf(candidates[other]!));
        state = this.stateOf(candidate, fastest, now);
        states[position] = state;
        ids[position] = candidate.id;
      } else state.lastSeenMs = now;
      // Read at every call: a pool replica's KV size comes with its worker's heartbeat, after it is first offered.
      state.room.kvTokens = candidate.kvTokens;
      scores.slots[position] = state.slot;
    }
    this.index.matchSlots(keys, scores.slots, count, scores.matched);
    const offset = this.turn++ % count;
    const { decodeWeight } = this.options;
    for (let position = 0; position < count; position += 1) {
      const candidate = candidates[position]!;
      const state = states[position]!;
      const uncached = uncachedTokens(promptTokens, scores.matched[position]!, tokensPerBlock);
      scores.uncached[position] = uncached;
      scores.ms[position] = ttftMs(state.busyUntilMs - now, uncached, state.speed.value, Math.max(0, candidate.inFlight - state.waiting), decodeWeight);
      const weight = weightOf(candidate);
      scores.load[position] = (candidate.outstandingTokens ?? candidate.inFlight) / weight;
      scores.inFlight[position] = candidate.inFlight;
      scores.weight[position] = weight;
      scores.rank[position] = (position - offset + count) % count;
    }
    // Lowest estimate first; equal estimates go to the less loaded, then rotate (an idle pool shares the traffic).
    const sorted = scores.sort(count);
    // No replica far over its share of the requests in flight, unless only it holds the prompt's blocks.
    const place = cappedPlace(sorted, count, scores, this.options.loadCap);
    if (place > 0) promote(sorted, place);
    const first = sorted[0]!;
    const chosenState = states[first]!;
    const uncached = scores.uncached[first]!;
    const ownMs = ttftMs(0, uncached, chosenState.speed.value, Math.max(0, candidates[first]!.inFlight - chosenState.waiting), decodeWeight);
    const ordered = new Array<T>(count);
    for (let place = 0; place < count; place += 1) ordered[place] = candidates[sorted[place]!]!;
    const outputTokens = Math.max(0, (request.tokens ?? promptTokens) - promptTokens);
    this.remember(
      request.requestId,
      { model: request.model, replica: ordered[0]!.id, keys, promptChars, promptTokens, outputTokens },
      chosenState,
      uncached,
      scores.matched[first]!,
      ownMs,
      now,
    );
    this.forgetGone(now);
    return ordered;
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
    this.released(entry);
    this.learnFromUsage(entry, outcome);
  }

  /**
   * An answered request ended: where its replica tells its KV size, its prompt's blocks go back to
   * the replica's cache now, the most recently used (a server frees a request's blocks at its end),
   * so its keys move to the front of the index, not left where its first token put them (decision
   * 0027). Where the size is learned this lost in the simulator, so the index is left as it was.
   */
  private released(entry: Pending): void {
    if (entry.firstToken && entry.keys.length > 0 && this.replicas.get(entry.replica)?.room.told) this.index.insert(entry.replica, entry.keys);
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
    // Told its KV size, the room bounds it; else what the report set counts as learned.
    if (!state.room.told) state.room.learnedBlocks = Math.max(state.room.learnedBlocks, this.index.capacity(replica) + state.room.heldBlocks);
    this.index.setCapacity(replica, state.room.keys(this.tokensPerBlock(model)));
  }

  /** Prefix keys tracked (for the bench's memory figure). */
  get trackedKeys(): number {
    return this.index.entries;
  }

  private remember(
    requestId: string,
    base: Pick<Pending, 'model' | 'replica' | 'keys' | 'promptChars' | 'promptTokens' | 'outputTokens'>,
    state: ReplicaState,
    uncached: number,
    matched: number,
    ownMs: number,
    now: number,
  ): void {
    state.busyUntilMs = Math.max(now, state.busyUntilMs) + Math.max(0, ownMs);
    const settledAtSend = state.waiting === 0;
    state.waiting += 1;
    const entry: Pending = {
      model: base.model,
      replica: base.replica,
      keys: base.keys,
      promptChars: base.promptChars,
      promptTokens: base.promptTokens,
      outputTokens: base.outputTokens,
      heldBlocks: 0,
      settledAtSend,
      matchedBlocks: matched,
      uncached,
      prefillMs: ownMs,
      sentAtMs: now,
      firstTokenAtMs: state.busyUntilMs,
      shiftAtSendMs: state.shiftMs,
      firstToken: false,
      detached: false,
      observedPrefillMs: undefined,
    };
    const earlier = this.pending.get(requestId);
    this.pending.set(requestId, entry);
    // What the router sent is what the replica will hold (as SGLang's router assumes), the keys
    // `order` just matched (the index reuses their numbers): at once those it matched (used again
    // now), and the rest, where the replica says its KV size, once computed (`indexedKeys`).
    if (base.keys.length > 0) this.index.insertMatched(base.replica, this.indexedKeys(entry));
    if (earlier) this.hold(earlier, false);
    this.hold(entry, true);
    while (this.pending.size > this.options.maxPending) {
      const dropped = this.pending.dropOldest()!;
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
    const state = this.replicas.get(replica) ?? this.newState(replica, this.options.priorTokensPerSecond, now);
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

  /** Keys of `entry` indexed: all once its first token came (from its send where the replica's KV size is learned), else those it matched. */
  private indexedKeys(entry: Pending): number {
    if (entry.firstToken || !this.replicas.get(entry.replica)?.room.told) return entry.keys.length;
    return Math.min(entry.matchedBlocks, entry.keys.length);
  }

  /** `entry` runs on its replica (`held`) or left it: where the replica tells its KV size, what it holds outside the index leaves less room for the cache. */
  private hold(entry: Pending, held: boolean): void {
    const state = this.replicas.get(entry.replica);
    const tokensPerBlock = this.tokensPerBlock(entry.model);
    const blocks = held && state?.room.told ? privateBlocks(entry.promptTokens, entry.outputTokens, this.indexedKeys(entry), tokensPerBlock) : 0;
    if (state) state.room.heldBlocks = Math.max(0, state.room.heldBlocks - entry.heldBlocks + blocks);
    entry.heldBlocks = blocks;
    if (state) this.index.setCapacity(entry.replica, state.room.keys(tokensPerBlock));
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
      state = this.newState(candidate.id, (this.options.priorTokensPerSecond * weightOf(candidate)) / fastest, now);
      this.replicas.set(candidate.id, state);
    }
    // The index may have forgotten the replica (and given its slot to another) since.
    if (this.index.ownerOf(state.slot) !== candidate.id) state.slot = this.index.slotOf(candidate.id);
    state.lastSeenMs = now;
    return state;
  }

  private newState(replica: string, tokensPerSecond: number, now: number): ReplicaState {
    // The prior is worth one 512-token prefill: a few real ones outweigh it.
    return {
      busyUntilMs: now,
      shiftMs: 0,
      lastFirstTokenMs: -Infinity,
      waiting: 0,
      speed: new LearnedRatio(tokensPerSecond, 512 / tokensPerSecond),
      lastSeenMs: now,
      slot: this.index.slotOf(replica),
      room: new ReplicaRoom(this.options.indexBlocksPerReplica),
    };
  }

  /** Prompt tokens per prefix key of `model` (its block's characters at the learned ratio). */
  private tokensPerBlock(model: string): number {
    return this.options.prefixBlockChars / this.ratioOf(model).value;
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
      this.stateIds.length = 0;
    }
  }
}

function weightOf(candidate: RoutingCandidate): number {
  return candidate.weight !== undefined && candidate.weight > 0 ? candidate.weight : 1;
}
