/**
 * The arithmetic of estimated-TTFT routing, pure so each case can be checked by hand: what a
 * request would wait on a replica before its first token (the prefill queued ahead of it, then
 * its own uncached part, at the replica's speed, slowed by the decodes sharing its iterations),
 * and the learned figures it reads (tokens per character, prefill speed).
 */

/** What one candidate's estimate reads. */
export interface TtftInputs {
  /** Milliseconds until the prefill already queued on the replica is done (0 when idle). */
  queuedMs: number;
  /** This prompt's tokens the replica must compute (not in its prefix cache). */
  uncachedTokens: number;
  /** Prefill tokens per second the replica was measured at (or its prior). */
  tokensPerSecond: number;
  /** Requests decoding on it now, past their first token. */
  decoding: number;
  /** Share by which each decoding request slows prefill (they share its iterations). */
  decodeWeight: number;
}

/** Estimated milliseconds to the first token: the wait, then this prompt's own prefill, slowed by decode pressure. */
export function estimateTtftMs(inputs: TtftInputs): number {
  return ttftMs(inputs.queuedMs, inputs.uncachedTokens, inputs.tokensPerSecond, inputs.decoding, inputs.decodeWeight);
}

/** `estimateTtftMs` with its inputs as arguments: the router's hot path builds no object per candidate. */
export function ttftMs(queuedMs: number, uncached: number, tokensPerSecond: number, decoding: number, decodeWeight: number): number {
  const speed = tokensPerSecond > 0 ? tokensPerSecond : Number.MIN_VALUE;
  const own = (Math.max(0, uncached) / speed) * 1000;
  return Math.max(0, queuedMs) + own * (1 + Math.max(0, decodeWeight) * Math.max(0, decoding));
}

/**
 * Tokens a replica must compute: the prompt less the leading blocks it holds, never less than one
 * (the last token is always computed, as llama.cpp and vLLM do).
 */
export function uncachedTokens(promptTokens: number, matchedBlocks: number, tokensPerBlock: number): number {
  if (!(promptTokens > 0)) return 0;
  return Math.max(1, promptTokens - Math.max(0, matchedBlocks) * tokensPerBlock);
}

/**
 * A rate learned from samples, each weighted by its size, with older ones decaying: a sum of
 * numerators and one of denominators. A prior counts as one sample of `priorWeight`, so a cold
 * start reads the prior and a few real samples outweigh it.
 */
export class LearnedRatio {
  private numerator: number;
  private denominator: number;

  /**
   * @param prior the ratio before any sample
   * @param priorWeight the prior's denominator (how much evidence it is worth)
   * @param keep the weight left to the past at each new sample (0.9: the last ~10 samples dominate)
   */
  constructor(
    prior: number,
    priorWeight: number,
    private readonly keep = 0.9,
  ) {
    if (!(prior > 0) || !(priorWeight > 0)) throw new Error(`a learned ratio needs a positive prior and prior weight, got ${prior} and ${priorWeight}`);
    this.numerator = prior * priorWeight;
    this.denominator = priorWeight;
  }

  /** The ratio now. */
  get value(): number {
    return this.numerator / this.denominator;
  }

  /** Adds a sample `numerator / denominator`; samples with a non-positive or non-finite part are ignored. */
  add(numerator: number, denominator: number): void {
    if (!(numerator > 0) || !(denominator > 0) || !Number.isFinite(numerator) || !Number.isFinite(denominator)) return;
    this.numerator = this.numerator * this.keep + numerator;
    this.denominator = this.denominator * this.keep + denominator;
  }
}

/**
 * A replica's prefill queue as the router sees it: the time its queued prefill should be done.
 * A request sent now starts at that time (or now, when idle) and moves it by its own prefill.
 */
export function queueAfterSend(busyUntilMs: number, nowMs: number, prefillMs: number): { startMs: number; busyUntilMs: number } {
  const startMs = Math.max(nowMs, busyUntilMs);
  return { startMs, busyUntilMs: startMs + Math.max(0, prefillMs) };
}

/**
 * The prefill time a first token shows: from the later of its sending and the previous first token
 * on the same replica (prefill runs first come, first served), to its own first token.
 */
export function observedPrefillMs(sentAtMs: number, previousFirstTokenMs: number, firstTokenMs: number): number {
  return firstTokenMs - Math.max(sentAtMs, previousFirstTokenMs);
}
