/**
 * The storage of `PrefixIndex`: one node per (key, replica) pair held, as a number into one buffer
 * that grows by doubling and recycles freed numbers, so the router's hot path allocates nothing.
 * A node is 32 bytes in one cache line: its key's number (a double, to find the key again when the
 * node goes), its replica's slot, its neighbours in that replica's recency list (`older`,
 * `newer`: the index keeps one list per replica) and in its key's list of holders (`next`,
 * `previous`; the first holder is the key table's value). One node, one cache miss, where a field
 * per array cost one miss a field.
 */

/** Int32 fields of a node, at `node * stride + field`. */
export const slotField = 2;
export const olderField = 3;
export const newerField = 4;
export const nextField = 5;
export const previousField = 6;
/** Int32s per node (32 bytes; the key's number is the double at int32 0-1). */
export const stride = 8;

const none = -1;

/** The nodes of a prefix index. */
export class NodeTable {
  /** Fields by `node * stride + field`; replaced when the table grows (read it again after `newNode`). */
  fields = new Int32Array(1024 * stride);
  /** Each node's key number at `node * (stride / 2)`, the same buffer as `fields`. */
  codes = new Float64Array(this.fields.buffer);
  private used = 0;
  private free = none;

  /** The key number of `node`. */
  codeOf(node: number): number {
    return this.codes[node * (stride / 2)]!;
  }

  /** The node held by `slot` among the holders starting at `first` (-1 for none). */
  holderOf(first: number, slot: number): number {
    const fields = this.fields;
    for (let node = first; node >= 0; node = fields[node * stride + nextField]!) if (fields[node * stride + slotField] === slot) return node;
    return none;
  }

  /**
   * A node for the key numbered `code` held by `slot`, put before `first` (the key's first holder
   * until now, -1 for none); its recency links are the caller's to set.
   */
  newNode(code: number, slot: number, first: number): number {
    let node = this.free;
    if (node >= 0) this.free = this.fields[node * stride + nextField]!;
    else {
      node = this.used++;
      if (node * stride >= this.fields.length) this.grow();
    }
    const fields = this.fields;
    const base = node * stride;
    this.codes[node * (stride / 2)] = code;
    fields[base + slotField] = slot;
    fields[base + nextField] = first;
    fields[base + previousField] = none;
    if (first >= 0) fields[first * stride + previousField] = node;
    return node;
  }

  /**
   * Takes `node` (already out of its recency list) off its key's holders and frees it. Returns the
   * key's first holder when `node` was it (its successor, -1 when none is left: the caller then
   * updates or deletes the key), or -2 when another node stays first.
   */
  freeNode(node: number): number {
    const fields = this.fields;
    const base = node * stride;
    const previous = fields[base + previousField]!;
    const next = fields[base + nextField]!;
    if (next >= 0) fields[next * stride + previousField] = previous;
    fields[base + nextField] = this.free;
    this.free = node;
    if (previous >= 0) {
      fields[previous * stride + nextField] = next;
      return -2;
    }
    return next;
  }

  private grow(): void {
    const fields = new Int32Array(this.fields.length * 2);
    fields.set(this.fields);
    this.fields = fields;
    this.codes = new Float64Array(fields.buffer);
  }
}
