/**
 * What a worker tells its control plane about its caches (issue 24, item 2): the prefix keys
 * (`routing-keys.ts`' chained block hashes, the same the router computes from a request; hashes
 * only, never text) of the prompts its slots and prompt cache hold now, most recently run first,
 * at most `limit` keys a heartbeat. The router replaces its guess for that replica with them.
 *
 * Each prompt run is recorded with its keys and its tokens; a record counts as held while some
 * holder (a slot's KV cache, a saved prompt-cache state) starts with its tokens. A record no
 * holder has any more is dropped for good: KV content changes only by new requests, which are
 * recorded themselves. A record not yet held (recorded before its prompt is evaluated: a report
 * taken meanwhile, on a busy machine, must not forget it) waits, unlisted, for up to
 * `maxPendingReports` reports. Plain logic over token arrays (tested alone).
 */

/** One prompt run: its prefix keys and the tokens it was evaluated as. */
interface HeldRecord {
  readonly keys: readonly string[];
  readonly tokens: ArrayLike<number>;
  /** Some report found it held. */
  heldOnce: boolean;
  /** Reports that did not find it held before it ever was. */
  pending: number;
}

/** Reports a recorded prompt may go unheld before it is first held (its evaluation may span a few heartbeats; a failed one never comes). */
export const maxPendingReports = 16;

/** The most prefix keys a heartbeat carries per replica, newest first. */
export const maxReportedPrefixKeys = 256;

/** What a replica reports: keys most recently used first; `complete` false when it held more than it lists. */
export interface HeldPrefixReport {
  keys: string[];
  complete: boolean;
}

/**
 * Does `holder` hold `tokens`? Every token but the last must lead it (a cache need not keep the
 * prompt's last token: it is evaluated again to start the generation). Checked from the end
 * first, where different prompts differ.
 */
export function holds(holder: ArrayLike<number>, tokens: ArrayLike<number>): boolean {
  const need = tokens.length - 1;
  if (need <= 0) return holder.length > 0 && tokens.length > 0 && holder[0] === tokens[0];
  if (holder.length < need || holder[need - 1] !== tokens[need - 1]) return false;
  for (let index = 0; index < need - 1; index += 1) if (holder[index] !== tokens[index]) return false;
  return true;
}

/** The prompts a loaded model ran, and which of them its caches still hold. */
export class HeldPrefixes {
  /** Oldest first. */
  private records: HeldRecord[] = [];

  /** @param maxRecords prompts remembered at most (the oldest go first). */
  constructor(private readonly maxRecords = 256) {}

  /** Prompts remembered now. */
  get size(): number {
    return this.records.length;
  }

  /** A prompt about to run: its prefix keys and its tokens (a prompt run again is newest; its keys are listed once). */
  record(keys: readonly string[], tokens: readonly number[]): void {
    if (keys.length === 0 || tokens.length === 0) return;
    this.records.push({ keys: [...keys], tokens: Uint32Array.from(tokens), heldOnce: false, pending: 0 });
    if (this.records.length > this.maxRecords) this.records.splice(0, this.records.length - this.maxRecords);
  }

  /**
   * The keys `holders` hold, most recent prompt first, each prompt's keys head first (the router
   * keeps a prompt's head longest), each key once; at most `limit`. Forgets records no holder has.
   */
  report(holders: ReadonlyArray<ArrayLike<number>>, limit = maxReportedPrefixKeys): HeldPrefixReport {
    const kept: HeldRecord[] = [];
    const keys: string[] = [];
    const seen = new Set<string>();
    let complete = true;
    for (let index = this.records.length - 1; index >= 0; index -= 1) {
      const record = this.records[index]!;
      if (!holders.some((holder) => holds(holder, record.tokens))) {
        if (!record.heldOnce && (record.pending += 1) <= maxPendingReports) kept.push(record);
        continue;
      }
      record.heldOnce = true;
      kept.push(record);
      for (const key of record.keys) {
        if (seen.has(key)) continue;
        seen.add(key);
        if (keys.length < limit) keys.push(key);
        else complete = false;
      }
    }
    this.records = kept.reverse();
    return { keys, complete };
  }
}
