/**
 * What the estimated-TTFT router keeps per replica and per request it placed (its own module so the
 * router stays readable; nothing else reads these).
 */
import type { ReplicaRoom } from './cache-room.js';
import type { LearnedRatio } from './ttft-score.js';

/** One replica as the router sees it. */
export interface ReplicaState {
  /** When the prefill queued on it should be done, by this router's estimate. */
  busyUntilMs: number;
  /** Sum of corrections applied to `busyUntilMs` from first tokens earlier or later than estimated. */
  shiftMs: number;
  lastFirstTokenMs: number;
  /** Requests sent to it whose first token has not come. */
  waiting: number;
  speed: LearnedRatio;
  lastSeenMs: number;
  /** Its slot in the prefix index. */
  slot: number;
  /** Its KV memory, less what runs there: the most keys the index keeps for it. */
  room: ReplicaRoom;
}

/** A request placed and not yet ended. */
export interface Pending {
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
  observedPrefillMs: number | undefined;
  /** Output tokens it may write (the request's `tokens` less its prompt; 0 where unknown). */
  outputTokens: number;
  /** Blocks it holds on `replica` outside the index while in flight (0 once released). */
  heldBlocks: number;
}
