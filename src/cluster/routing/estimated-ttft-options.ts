/**
 * Options of the estimated-TTFT router (`estimated-ttft-router.ts`) and their defaults, in their own
 * module so the router stays readable.
 */
import { prefixBlockChars } from './routing-keys.js';

/** Options of `EstimatedTtftRouter`; merged over `defaultEstimatedTtftOptions`. */
export interface EstimatedTtftOptions {
  /** Characters per prefix key's block (the `routing.prefixBlockChars` the keys were hashed with). */
  prefixBlockChars: number;
  /**
   * KV memory, in blocks, assumed for a replica that does not say its own (`RoutingCandidate.kvTokens`):
   * shrunk for a replica whose answers show it evicts sooner.
   */
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
  /**
   * The first candidate gives way when its requests in flight (per weight) exceed this many times
   * the pool's mean, to the best one within it holding as many of the prompt's blocks
   * (`load-cap.ts`, decision 0025). 0 turns the cap off.
   */
  loadCap: number;
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
  loadCap: 1.5,
};
