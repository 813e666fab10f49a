/**
 * A replica's KV memory in 512-token blocks, shared by the requests it runs and its prefix cache,
 * as vLLM's block manager and llama.cpp's unified KV cache share it: a running request holds its
 * prompt's blocks (shared with others that have the same prefix) and its private blocks (the
 * partial tail and the output it will write); blocks no running request holds stay as cache and
 * are evicted least recently used first, only when a new request needs the room. So a replica busy
 * with long prompts keeps less cache than an idle one.
 */

/** One replica's blocks: those with a prefix id (cacheable) and a count of private ones. */
export class KvBlocks {
  /** Prefix blocks resident, with how many running requests hold each. */
  private readonly held = new Map<number, number>();
  /** Resident blocks no request holds, oldest first: the cache, in eviction order. */
  private readonly idle = new Map<number, true>();
  private privateBlocks = 0;

  constructor(readonly capacity: number) {}

  /** Blocks in use or cached. */
  get used(): number {
    return this.held.size + this.idle.size + this.privateBlocks;
  }

  /** Blocks that only cache (no running request holds them). */
  get cached(): number {
    return this.idle.size;
  }

  /** Up to `limit` resident prefix blocks: those running requests hold, then the cache newest first (a worker's report). */
  resident(limit: number): number[] {
    const blocks = [...this.held.keys()].slice(0, limit);
    const idle = [...this.idle.keys()];
    for (let index = idle.length - 1; index >= 0 && blocks.length < limit; index -= 1) blocks.push(idle[index]!);
    return blocks;
  }

  /** How many leading blocks of `prompt` are resident (computed), without touching them. */
  peek(prompt: readonly number[]): number {
    let count = 0;
    for (const block of prompt) {
      if (!this.held.has(block) && !this.idle.has(block)) break;
      count += 1;
    }
    return count;
  }

  /**
   * Admits a request whose prompt's leading `hit` blocks are resident, needing `fresh` more blocks
   * (its uncached prompt and its output): holds the hit blocks and reserves the rest, evicting idle
   * cache as needed. False, and nothing changed, when even an empty cache leaves too little room.
   */
  admit(prompt: readonly number[], hit: number, fresh: number): boolean {
    let evictable = this.idle.size;
    for (let index = 0; index < hit; index += 1) if (this.idle.has(prompt[index]!)) evictable -= 1;
    if (this.held.size + this.privateBlocks + (this.idle.size - evictable) + fresh > this.capacity) return false;
    for (let index = 0; index < hit; index += 1) this.hold(prompt[index]!);
    this.privateBlocks += fresh;
    this.evictTo(this.capacity);
    return true;
  }

  /** The prompt's blocks from `from` on are computed: they become shared, cacheable blocks (a private one each is given back). */
  computed(prompt: readonly number[], from: number): void {
    for (let index = from; index < prompt.length; index += 1) {
      const block = prompt[index]!;
      this.privateBlocks -= 1;
      this.hold(block);
    }
    this.evictTo(this.capacity);
  }

  /** A request ended: its prompt blocks go back to the cache (tail first out), its private blocks are freed. */
  release(prompt: readonly number[], heldBlocks: number, privateBlocks: number): void {
    // Released last block first, so the prompt's tail is older than its head and goes first.
    for (let index = heldBlocks - 1; index >= 0; index -= 1) {
      const block = prompt[index]!;
      const holders = (this.held.get(block) ?? 1) - 1;
      if (holders > 0) this.held.set(block, holders);
      else {
        this.held.delete(block);
        this.idle.delete(block);
        this.idle.set(block, true);
      }
    }
    this.privateBlocks -= privateBlocks;
  }

  private hold(block: number): void {
    if (this.idle.delete(block)) this.held.set(block, 1);
    else this.held.set(block, (this.held.get(block) ?? 0) + 1);
  }

  private evictTo(limit: number): void {
    while (this.used > limit && this.idle.size > 0) this.idle.delete(this.idle.keys().next().value!);
  }
}
