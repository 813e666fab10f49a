/** A llama slot (a sequence and its evaluators) and the small rules loaded-model.ts applies to it. */
import type { LlamaChat, LlamaCompletion, LlamaContext, LlamaContextSequence } from 'node-llama-cpp';
import type { PromptCache } from './prompt-cache.js';
import type { Turn } from './resumable-generation.js';

/**
 * A sequence and the evaluators bound to it; the unit the slot pool hands out. The sequence is
 * replaced by a fresh one after a failed generation (`renewSlot`).
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

/** Replaces a slot's sequence with an empty one (llama.cpp's cells of the old one are freed), with evaluators bound to it. */
export async function renewSlot(
  slot: Slot,
  context: LlamaContext,
  evaluators: (sequence: LlamaContextSequence) => Pick<Slot, 'chat' | 'completion'>,
): Promise<void> {
  await slot.sequence.dispose().catch(() => undefined);
  slot.sequence = context.getSequence();
  Object.assign(slot, evaluators(slot.sequence));
}

/**
 * Empties a spare slot once its request is done (its state saved to the prompt cache first), so
 * the next interactive request on it takes no step under llama.cpp's context lock before its
 * evaluation: a save or an erase waits there for the running batch lines' decode loop. Off
 * every request's path: the caller releases the slot when this is done. A failure renews it.
 */
export async function emptySpare(slot: Slot, promptCache: PromptCache | undefined, renew: () => Promise<void>): Promise<void> {
  if (slot.sequence.contextTokens.length === 0) return;
  try {
    if (promptCache && slot.keep) await promptCache.save(slot.sequence);
    await slot.sequence.clearHistory();
  } catch {
    await renew();
  }
}
