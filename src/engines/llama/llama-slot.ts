/** A llama slot (a sequence and its evaluators) and the small rules loaded-model.ts applies to it. */
import type { LlamaChat, LlamaCompletion, LlamaContextSequence } from 'node-llama-cpp';
import type { Turn } from './resumable-generation.js';

/**
 * A sequence and the evaluators bound to it; the unit the slot pool hands out. The sequence is
 * replaced by a fresh one after a failed generation (see `LoadedModel.renew`).
 */
export interface Slot {
  readonly index: number;
  sequence: LlamaContextSequence;
  chat: LlamaChat;
  completion: LlamaCompletion;
  /**
   * Whether what the sequence holds is worth saving to the prompt cache before another request
   * overwrites it: not a batch line that ran to its end (its prompt is its own, and a save takes
   * llama.cpp's context lock that every slot's decode waits on), yes for anything else.
   */
  keep: boolean;
}

/**
 * A failed llama_decode. node-llama-cpp decodes the queued tokens of every slot in one batch, and a
 * batch that llama.cpp refuses fails every request in it, not only the one whose sequence caused it.
 */
export function isDecodeFailure(error: unknown): boolean {
  return error instanceof Error && /Eval has failed|could not find a KV slot|llama_decode/.test(error.message);
}

/** A turn that is never asked to yield: an interactive request's (a batch one that cannot be continued sets its priority). */
export function interactiveTurn(): Turn {
  return { priority: 'interactive', yieldable: false, resumed: false, yielded: false };
}
