/**
 * Prefix key -> entry number, for `PrefixIndex`. The router's keys are short base-36 strings (a
 * 32-bit chained hash, `routing-keys.ts`); each is read as a number (exact: strings of up to 10
 * characters of 0-9a-z numbered one to one) and found in an open-addressing table of typed arrays,
 * (at most half full, so runs stay short), so a lookup compares numbers in one or two cache lines instead of hashing and comparing a string
 * in a `Map` of 100,000, and the index keeps no string alive. Any other string (tests' names, a
 * future format) goes to a `Map`: every key keeps its exact identity either way.
 */

const empty = -1;
/** Strings of up to 10 base-36 characters number below 2^53 (36^10 + ... + 36 < 3.8e15): exact as doubles. */
const maxCodedLength = 10;

/**
 * The number of `key` when it is 1 to 10 characters of 0-9a-z: each length numbered after all
 * shorter ones (bijective base 36), so no two strings share one. -1 for any other string.
 */
export function keyCode(key: string): number {
  const length = key.length;
  if (length === 0 || length > maxCodedLength) return empty;
  let value = 0;
  for (let index = 0; index < length; index += 1) {
    const char = key.charCodeAt(index);
    let digit: number;
    if (char >= 48 && char <= 57) digit = char - 48;
    else if (char >= 97 && char <= 122) digit = char - 87;
    else return empty;
    value = value * 36 + digit + 1;
  }
  return value;
}

/** Key -> entry number; entries are the caller's small integers (at least 0). */
export class KeyTable {
  private codes = new Float64Array(1024).fill(empty);
  private entries = new Int32Array(1024);
  private used = 0;
  private readonly others = new Map<string, number>();
  /** What the last `get` read and where its search ended, for `add`. */
  private lastCode = empty;
  private lastKey = '';
  private lastSlot = 0;

  /** Keys held. */
  get size(): number {
    return this.used + this.others.size;
  }

  /** The entry of `key`, -1 when absent (then `add` puts an entry where the search ended, without searching again). */
  get(key: string): number {
    const code = keyCode(key);
    this.lastCode = code;
    this.lastKey = key;
    if (code < 0) return this.others.get(key) ?? empty;
    const codes = this.codes;
    const mask = codes.length - 1;
    for (let at = slotOf(code, mask); ; at = (at + 1) & mask) {
      const held = codes[at]!;
      if (held === code) return this.entries[at]!;
      if (held === empty) {
        this.lastSlot = at;
        return empty;
      }
    }
  }

  /** Sets the entry of the key the last `get` did not find (nothing else may change the table between them). */
  add(entry: number): void {
    const code = this.lastCode;
    if (code < 0) {
      this.others.set(this.lastKey, entry);
      return;
    }
    let at = this.lastSlot;
    if ((this.used + 1) * 2 > this.codes.length) {
      this.resize(this.codes.length * 2);
      const mask = this.codes.length - 1;
      for (at = slotOf(code, mask); this.codes[at] !== empty; at = (at + 1) & mask);
    }
    this.codes[at] = code;
    this.entries[at] = entry;
    this.used += 1;
  }

  /** Removes the key numbered `code` (from `keyCode`), or `key` itself when it has no number. */
  delete(code: number, key?: string): void {
    if (code < 0) {
      if (key !== undefined) this.others.delete(key);
      return;
    }
    const codes = this.codes;
    const mask = codes.length - 1;
    let at = slotOf(code, mask);
    while (codes[at] !== code) {
      if (codes[at] === empty) return;
      at = (at + 1) & mask;
    }
    this.used -= 1;
    // Linear probing's backward shift, so no tombstones: move back each later key of the run whose
    // home slot is not between the hole and it.
    for (let next = (at + 1) & mask; codes[next] !== empty; next = (next + 1) & mask) {
      const home = slotOf(codes[next]!, mask);
      const between = at <= next ? at < home && home <= next : at < home || home <= next;
      if (between) continue;
      codes[at] = codes[next]!;
      this.entries[at] = this.entries[next]!;
      at = next;
    }
    codes[at] = empty;
  }

  private resize(size: number): void {
    const codes = this.codes;
    const entries = this.entries;
    this.codes = new Float64Array(size).fill(empty);
    this.entries = new Int32Array(size);
    this.used = 0;
    const mask = size - 1;
    for (let index = 0; index < codes.length; index += 1) {
      const code = codes[index]!;
      if (code === empty) continue;
      let at = slotOf(code, mask);
      while (this.codes[at] !== empty) at = (at + 1) & mask;
      this.codes[at] = code;
      this.entries[at] = entries[index]!;
      this.used += 1;
    }
  }
}

/** Home slot of a code: its low and high 32 bits mixed (Murmur3's finaliser), masked to the table. */
function slotOf(code: number, mask: number): number {
  let hash = (code >>> 0) ^ Math.imul(Math.floor(code / 4294967296) | 0, 0x9e3779b1);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) & mask;
}
