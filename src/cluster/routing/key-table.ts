/**
 * Prefix key -> number, for `PrefixIndex`. The router's keys are short base-36 strings (a 32-bit
 * chained hash, `routing-keys.ts`); each is read as a number (exact: strings of up to 10
 * characters of 0-9a-z numbered one to one) and found in an open-addressing table of typed arrays
 * (at most half full, so runs stay short) whose cells hold the number and a value side by side, so
 * a lookup reads one cache line instead of hashing and comparing a string in a `Map` of 100,000,
 * and the index keeps no string alive. Any other string (tests' names, a future format) is given a
 * negative number of its own by `KeyCodes` while the index holds it: every key keeps its exact
 * identity either way.
 */

/** Strings of up to 10 base-36 characters number below 2^53 (36^10 + ... + 36 < 3.8e15): exact as doubles. */
const maxCodedLength = 10;

/**
 * The number of `key` when it is 1 to 10 characters of 0-9a-z: each length numbered after all
 * shorter ones (bijective base 36), so no two strings share one, and none is 0. -1 for any other
 * string.
 */
export function keyCode(key: string): number {
  const length = key.length;
  if (length === 0 || length > maxCodedLength) return -1;
  let value = 0;
  for (let index = 0; index < length; index += 1) {
    const char = key.charCodeAt(index);
    let digit: number;
    if (char >= 48 && char <= 57) digit = char - 48;
    else if (char >= 97 && char <= 122) digit = char - 87;
    else return -1;
    value = value * 36 + digit + 1;
  }
  return value;
}

/**
 * Numbers for every key: `keyCode`'s (positive) for the router's own keys, and for any other
 * string a negative number handed out on first use and taken back by `release`. 0 is no key.
 */
export class KeyCodes {
  private readonly byKey = new Map<string, number>();
  private readonly byCode = new Map<number, string>();
  private next = -1;

  /** The number of `key`; 0 when it has none yet and `create` is false. */
  codeOf(key: string, create: boolean): number {
    const code = keyCode(key);
    if (code > 0) return code;
    const known = this.byKey.get(key);
    if (known !== undefined || !create) return known ?? 0;
    const made = this.next--;
    this.byKey.set(key, made);
    this.byCode.set(made, key);
    return made;
  }

  /** Forgets the number of a key no longer held (a no-op for the router's own keys). */
  release(code: number): void {
    if (code >= 0) return;
    const key = this.byCode.get(code);
    if (key === undefined) return;
    this.byCode.delete(code);
    this.byKey.delete(key);
  }

  /** Other strings numbered now (for tests: released ones are gone). */
  get others(): number {
    return this.byKey.size;
  }
}

/** An empty cell (no key numbers 0). */
const empty = 0;

/**
 * Key number -> a 32-bit value. Each cell is 16 bytes, the number (a double) then the value (an
 * int32 read through a second view of the same buffer), so a probe and its answer share a cache
 * line. Linear probing, at most half full, deletion by backward shift (no tombstones).
 */
export class KeyTable {
  private codes = new Float64Array(2048);
  private values = new Int32Array(this.codes.buffer);
  private mask = 1023;
  private used = 0;

  /** Keys held. */
  get size(): number {
    return this.used;
  }

  /** The cell holding `code`, -1 when absent (0, no key, always is). Valid until the next `add` or `delete`. */
  find(code: number): number {
    if (code === empty) return -1;
    const codes = this.codes;
    const mask = this.mask;
    for (let at = slotOf(code, mask); ; at = (at + 1) & mask) {
      const held = codes[at << 1]!;
      if (held === code) return at;
      if (held === empty) return -1;
    }
  }

  /**
   * Reads the home cell of `code` and returns what it holds: a load whose answer nobody needs, so a
   * loop over many keys has their cache misses in flight together before the lookups that need
   * them (a lookup's miss is most of its cost).
   */
  touch(code: number): number {
    return this.codes[slotOf(code, this.mask) << 1]!;
  }

  /** The value in cell `at` (from `find`). */
  valueAt(at: number): number {
    return this.values[(at << 2) + 2]!;
  }

  /** Sets the value in cell `at` (from `find`). */
  setValueAt(at: number, value: number): void {
    this.values[(at << 2) + 2] = value;
  }

  /** The value of `code`, -1 when absent. */
  get(code: number): number {
    const at = this.find(code);
    return at < 0 ? -1 : this.valueAt(at);
  }

  /** Adds `code` (absent: the caller has just failed to `find` it, a non-zero number) with `value`. */
  add(code: number, value: number): void {
    if ((this.used + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    const codes = this.codes;
    const mask = this.mask;
    let at = slotOf(code, mask);
    while (codes[at << 1] !== empty) at = (at + 1) & mask;
    codes[at << 1] = code;
    this.values[(at << 2) + 2] = value;
    this.used += 1;
  }

  /** Removes `code` (a no-op when absent). */
  delete(code: number): void {
    const codes = this.codes;
    const values = this.values;
    const mask = this.mask;
    let at = this.find(code);
    if (at < 0) return;
    this.used -= 1;
    // Linear probing's backward shift, so no tombstones: move back each later key of the run whose
    // home slot is not between the hole and it.
    for (let next = (at + 1) & mask; codes[next << 1] !== empty; next = (next + 1) & mask) {
      const home = slotOf(codes[next << 1]!, mask);
      const between = at <= next ? at < home && home <= next : at < home || home <= next;
      if (between) continue;
      codes[at << 1] = codes[next << 1]!;
      values[(at << 2) + 2] = values[(next << 2) + 2]!;
      at = next;
    }
    codes[at << 1] = empty;
  }

  private resize(size: number): void {
    const codes = this.codes;
    const values = this.values;
    const cells = this.mask + 1;
    this.codes = new Float64Array(size * 2);
    this.values = new Int32Array(this.codes.buffer);
    this.mask = size - 1;
    this.used = 0;
    for (let index = 0; index < cells; index += 1) {
      const code = codes[index << 1]!;
      if (code !== empty) this.add(code, values[(index << 2) + 2]!);
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
