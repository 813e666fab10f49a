/**
 * How much of a replica's KV memory is left for its prefix cache, as estimated-ttft's shadow index
 * bounds it (issue 24, decision 0026). A replica's KV memory is shared by the requests it runs and
 * the prefixes it caches (vLLM's block manager, llama.cpp's unified KV cache): near high load the
 * running requests squeeze the cache out, so what a replica can cache depends on what runs there,
 * and the router knows that, since it sent it. Pure, so each case can be checked by hand.
 */

/** Keys kept for a replica at the least, whatever runs there. */
export const minCacheKeys = 16;

/**
 * Blocks a request holds on its replica that the index does not count as keys: its prompt past
 * the `indexedKeys` the index holds for it (keys cover the leading blocks only, and a prompt not
 * yet computed has only the keys it matched) and the output it will write.
 */
export function privateBlocks(promptTokens: number, outputTokens: number, indexedKeys: number, tokensPerBlock: number): number {
  if (!(tokensPerBlock > 0)) return 0;
  const prompt = Math.ceil(Math.max(0, promptTokens) / tokensPerBlock);
  return Math.max(0, prompt - Math.max(0, indexedKeys)) + Math.ceil(Math.max(0, outputTokens) / tokensPerBlock);
}

/**
 * Keys the index may keep for a replica: its KV memory in blocks less the blocks its requests in
 * flight hold outside the index (their keys are in the index themselves, the most recent), never
 * below `floor`.
 */
export function cacheRoomBlocks(kvBlocks: number, inFlightPrivateBlocks: number, floor = minCacheKeys): number {
  const room = Math.floor(kvBlocks - Math.max(0, inFlightPrivateBlocks));
  return Number.isNaN(room) ? floor : Math.max(floor, room);
}

/**
 * One replica's KV memory as the router sees it: its size, told by the replica
 * (`RoutingCandidate.kvTokens`) or else learned from the cached tokens its answers served, and the
 * blocks its requests in flight hold outside the index.
 */
export class ReplicaRoom {
  /** KV memory in tokens, where the replica says; undefined: learned. */
  kvTokens: number | undefined;
  /** Blocks held outside the index by the requests in flight. */
  heldBlocks = 0;

  /** @param learnedBlocks the size assumed, in blocks, until the replica says or answers show less */
  constructor(public learnedBlocks: number) {}

  /** The replica's size is told, not learned. */
  get told(): boolean {
    return this.kvTokens !== undefined && this.kvTokens > 0;
  }

  /** Keys the index may keep for the replica now. */
  keys(tokensPerBlock: number): number {
    const blocks = this.told ? this.kvTokens! / tokensPerBlock : this.learnedBlocks;
    return cacheRoomBlocks(blocks, this.heldBlocks);
  }

  /**
   * Learns the size from an answer, where not told: fewer cached tokens served than the index
   * promised (`missed`) shrinks it to 80% of what the index held plus what runs there; a full
   * index that kept its promise grows it 2%. Returns whether it changed. (90% until decision 0027:
   * with keys covering whole prompts, a miss means a larger overshoot, and 80% was better than 90%
   * and 70% in the simulator at every load with a learned size.)
   */
  learn(missed: boolean, indexSize: number, indexFull: boolean): boolean {
    if (this.told) return false;
    if (missed) this.learnedBlocks = Math.max(minCacheKeys, (indexSize + this.heldBlocks) * 0.8);
    else if (indexFull) this.learnedBlocks = (indexSize + this.heldBlocks) * 1.02 + 1;
    else return false;
    return true;
  }
}
