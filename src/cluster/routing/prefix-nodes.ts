/**
 * The storage of `PrefixIndex`: entries (one per key tracked) and nodes (one per replica holding a
 * key) as numbers into typed arrays that grow by doubling and recycle freed numbers, so the router's
 * hot path allocates nothing and a tracked prefix costs a few dozen bytes rather than a `Map` entry
 * per replica. Each entry heads a doubly linked list of its holders' nodes; the recency links
 * (`olderOf`, `newerOf`) belong to the index, which keeps one list per replica.
 */

const none = -1;

/** Entries and nodes of a prefix index. */
export class NodeTable {
  /** Per node: its entry, its replica's slot, its neighbours in its replica's recency list and in its entry's holders. */
  entry = new Int32Array(1024);
  slot = new Int32Array(1024);
  olderOf = new Int32Array(1024);
  newerOf = new Int32Array(1024);
  holderNext = new Int32Array(1024);
  holderPrevious = new Int32Array(1024);
  private nodesUsed = 0;
  private freeNodes = none;

  /**
   * Per entry: its first holder node (-1 for none), and its key as `keyCode` numbers it (to delete
   * it from the key table), or the string itself for a key without a number.
   */
  private entryHead = new Int32Array(1024);
  private entryCode = new Float64Array(1024);
  private readonly uncoded = new Map<number, string>();
  private entriesUsed = 0;
  private readonly freeEntries: number[] = [];

  /** A new entry for `key` (numbered `code`, -1 for none), holding nothing yet. */
  newEntry(code: number, key: string): number {
    let entry = this.freeEntries.pop();
    if (entry === undefined) {
      entry = this.entriesUsed++;
      if (entry >= this.entryHead.length) {
        this.entryHead = grown(this.entryHead);
        const codes = new Float64Array(this.entryCode.length * 2);
        codes.set(this.entryCode);
        this.entryCode = codes;
      }
    }
    this.entryCode[entry] = code;
    if (code < 0) this.uncoded.set(entry, key);
    this.entryHead[entry] = none;
    return entry;
  }

  /** The key number of `entry` (-1: see `uncodedKey`). */
  codeOf(entry: number): number {
    return this.entryCode[entry]!;
  }

  /** The key of an entry without a number. */
  uncodedKey(entry: number): string | undefined {
    return this.uncoded.get(entry);
  }

  /** The first node holding `entry`, -1 for none. */
  firstHolder(entry: number): number {
    return this.entryHead[entry]!;
  }

  /** The node of `entry` held by `slot`, -1 for none. */
  holderOf(entry: number, slot: number): number {
    for (let node = this.entryHead[entry]!; node >= 0; node = this.holderNext[node]!) if (this.slot[node] === slot) return node;
    return none;
  }

  /** A node for `entry` held by `slot`, first among the entry's holders; its recency links are the caller's to set. */
  newNode(entry: number, slot: number): number {
    let node = this.freeNodes;
    if (node >= 0) this.freeNodes = this.holderNext[node]!;
    else {
      node = this.nodesUsed++;
      if (node >= this.entry.length) this.grow();
    }
    this.entry[node] = entry;
    this.slot[node] = slot;
    const head = this.entryHead[entry]!;
    this.holderNext[node] = head;
    this.holderPrevious[node] = none;
    if (head >= 0) this.holderPrevious[head] = node;
    this.entryHead[entry] = node;
    return node;
  }

  /** Frees `node` (already out of its recency list); true when no node holds its entry any more (then free that with `freeEntry`). */
  freeNode(node: number): boolean {
    const entry = this.entry[node]!;
    const previous = this.holderPrevious[node]!;
    const next = this.holderNext[node]!;
    if (previous >= 0) this.holderNext[previous] = next;
    else this.entryHead[entry] = next;
    if (next >= 0) this.holderPrevious[next] = previous;
    this.holderNext[node] = this.freeNodes;
    this.freeNodes = node;
    return this.entryHead[entry] === none;
  }

  /** Recycles an entry that no node holds. */
  freeEntry(entry: number): void {
    if (this.entryCode[entry]! < 0) this.uncoded.delete(entry);
    this.freeEntries.push(entry);
  }

  private grow(): void {
    this.entry = grown(this.entry);
    this.slot = grown(this.slot);
    this.olderOf = grown(this.olderOf);
    this.newerOf = grown(this.newerOf);
    this.holderNext = grown(this.holderNext);
    this.holderPrevious = grown(this.holderPrevious);
  }
}

function grown(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
