// The prefix index as it was before its rework for speed (commit 4021ba2, issue 24), kept unchanged
// to check that the reworked one decides the same (src/cluster/routing/estimated-ttft-equivalence.test.ts)
// and to time against it (bench/replay/router-cost.ts). Not used by the server.
/**
 * A shadow of what each replica's prefix cache holds, by prefix key (the chained block hashes of
 * `routing-keys.ts`; hashes only, never text), as SGLang's router and llm-d's precise scorer keep
 * one. One map from key to the replicas holding it answers "how many leading blocks of this
 * prompt does each replica hold" in one pass over the prompt's keys, whatever the number of
 * replicas; each replica's keys are also kept least recently used first, bounded by a capacity
 * that the router shrinks when a replica's answers show it evicted sooner.
 */

/** One replica's entries, oldest first (a Map iterates in insertion order). */
interface Holder {
  readonly slot: number;
  readonly keys: Map<string, true>;
  capacity: number;
}

/** The prefix index of one deployment: keys -> replicas, bounded per replica. */
export class PrefixIndex {
  private readonly holdersOf = new Map<string, number[]>();
  private readonly replicas = new Map<string, Holder>();
  private readonly bySlot: Array<Holder | undefined> = [];

  constructor(private readonly defaultCapacity: number) {
    if (!(defaultCapacity >= 1)) throw new Error(`the prefix index needs room for at least one block per replica, got ${defaultCapacity}`);
  }

  /** Keys held for `replica`. */
  size(replica: string): number {
    return this.replicas.get(replica)?.keys.size ?? 0;
  }

  /** Keys tracked over all replicas (one key held by two replicas counts twice). */
  get entries(): number {
    let total = 0;
    for (const holder of this.replicas.values()) total += holder.keys.size;
    return total;
  }

  /** The most keys kept for `replica`. */
  capacity(replica: string): number {
    return this.replicas.get(replica)?.capacity ?? this.defaultCapacity;
  }

  /**
   * How many leading keys of `keys` each of `replicas` holds, in their order. One map lookup per
   * key, stopping at the first key no replica holds.
   */
  match(keys: readonly string[], replicas: readonly string[]): number[] {
    const matched = new Array<number>(replicas.length).fill(0);
    if (keys.length === 0 || this.replicas.size === 0) return matched;
    // Slot -> position in `replicas`, for the replicas asked about.
    const position = new Map<number, number>();
    for (const [index, id] of replicas.entries()) {
      const holder = this.replicas.get(id);
      if (holder) position.set(holder.slot, index);
    }
    const reached = new Int32Array(this.bySlot.length);
    for (let depth = 0; depth < keys.length; depth += 1) {
      const holders = this.holdersOf.get(keys[depth]!);
      if (!holders) break;
      let any = false;
      for (const slot of holders) {
        if (reached[slot] !== depth) continue;
        reached[slot] = depth + 1;
        any = true;
      }
      if (!any) break;
    }
    for (const [slot, index] of position) matched[index] = reached[slot]!;
    return matched;
  }

  /** `replica` now holds `keys` (most recently used); the oldest go past its capacity. */
  insert(replica: string, keys: readonly string[]): void {
    const holder = this.holder(replica);
    // Tail first, so a prompt's head is the most recent and its tail goes first (as vLLM evicts).
    for (let index = keys.length - 1; index >= 0; index -= 1) {
      const key = keys[index]!;
      if (holder.keys.delete(key)) {
        holder.keys.set(key, true);
        continue;
      }
      holder.keys.set(key, true);
      const holders = this.holdersOf.get(key);
      if (holders) holders.push(holder.slot);
      else this.holdersOf.set(key, [holder.slot]);
    }
    this.evict(holder);
  }

  /**
   * What `replica` reported holding, most recent first, replaces what the index guessed. A complete
   * report also sets its capacity to what it holds (at least `floor`); a bounded one (it holds more
   * than it lists) keeps the guesses older than what it lists, with room for at least one more.
   */
  replace(replica: string, keys: readonly string[], complete: boolean, floor = 16): void {
    const holder = this.holder(replica);
    if (complete) {
      for (const key of holder.keys.keys()) this.unlink(key, holder.slot);
      holder.keys.clear();
      holder.capacity = Math.max(floor, keys.length, holder.capacity);
    } else holder.capacity = Math.max(holder.capacity, keys.length + 1);
    this.insert(replica, keys);
    if (complete) holder.capacity = Math.max(floor, keys.length);
  }

  /** Sets the most keys kept for `replica` (at least 1), evicting the oldest past it. */
  setCapacity(replica: string, capacity: number): void {
    const holder = this.holder(replica);
    holder.capacity = Math.max(1, Math.floor(capacity));
    this.evict(holder);
  }

  /** Forgets a replica (it left the deployment). */
  forget(replica: string): void {
    const holder = this.replicas.get(replica);
    if (!holder) return;
    for (const key of holder.keys.keys()) this.unlink(key, holder.slot);
    this.replicas.delete(replica);
    this.bySlot[holder.slot] = undefined;
  }

  /** Replica ids known to the index. */
  known(): string[] {
    return [...this.replicas.keys()];
  }

  private holder(replica: string): Holder {
    let holder = this.replicas.get(replica);
    if (!holder) {
      let slot = this.bySlot.indexOf(undefined);
      if (slot < 0) slot = this.bySlot.length;
      holder = { slot, keys: new Map(), capacity: this.defaultCapacity };
      this.bySlot[slot] = holder;
      this.replicas.set(replica, holder);
    }
    return holder;
  }

  private evict(holder: Holder): void {
    while (holder.keys.size > holder.capacity) {
      const oldest = holder.keys.keys().next().value!;
      holder.keys.delete(oldest);
      this.unlink(oldest, holder.slot);
    }
  }

  private unlink(key: string, slot: number): void {
    const holders = this.holdersOf.get(key);
    if (!holders) return;
    const at = holders.indexOf(slot);
    if (at >= 0) holders.splice(at, 1);
    if (holders.length === 0) this.holdersOf.delete(key);
  }
}
