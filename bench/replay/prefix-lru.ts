/**
 * A replica's prefix cache in 512-token blocks, least recently used out first. A prompt reuses
 * the leading run of its blocks that the cache holds, as llama.cpp and vLLM reuse KV cache.
 */
export class PrefixLru {
  // A Map iterates in insertion order: re-inserting on use keeps the oldest first.
  private readonly blocks = new Map<number, true>();

  constructor(private readonly capacity: number) {}

  /** How many leading blocks of `prompt` are cached; touches them. */
  hit(prompt: readonly number[]): number {
    let count = 0;
    for (const block of prompt) {
      if (!this.blocks.has(block)) break;
      this.blocks.delete(block);
      this.blocks.set(block, true);
      count += 1;
    }
    return count;
  }

  /** Caches every block of a prompt just evaluated, evicting the least recently used. */
  insert(prompt: readonly number[]): void {
    for (const block of prompt) {
      this.blocks.delete(block);
      this.blocks.set(block, true);
    }
    while (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
  }
}
