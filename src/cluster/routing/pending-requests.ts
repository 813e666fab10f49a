/**
 * The requests a router placed and has not heard the end of, oldest first. A `Map` keeps that
 * order, but finding its oldest entry walks past every entry deleted since the map last rehashed:
 * with 10,000 pending (an engine whose tries fail and never end) that walk cost each `order` tens of
 * microseconds. A queue of arrivals beside the map finds it in amortised O(1); entries deleted or
 * set again are skipped as stale.
 */
export class PendingRequests<V extends object> {
  private readonly byId = new Map<string, V>();
  private ids: string[] = [];
  private values_: V[] = [];
  private head = 0;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): V | undefined {
    return this.byId.get(id);
  }

  /** Sets `id` as the newest (an id set again moves to the end, as deleting and setting a `Map` key does). */
  set(id: string, value: V): void {
    this.byId.delete(id);
    this.byId.set(id, value);
    this.ids.push(id);
    this.values_.push(value);
    if (this.ids.length - this.head > 2 * this.byId.size + 1024) this.compact();
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** Values, oldest first. */
  values(): IterableIterator<V> {
    return this.byId.values();
  }

  /** Removes and returns the oldest entry. */
  dropOldest(): V | undefined {
    while (this.head < this.ids.length) {
      const id = this.ids[this.head]!;
      const value = this.values_[this.head]!;
      this.head += 1;
      if (this.byId.get(id) !== value) continue;
      this.byId.delete(id);
      return value;
    }
    return undefined;
  }

  /** Keeps only the live arrivals (the rest were ended or set again). */
  private compact(): void {
    const ids: string[] = [];
    const values: V[] = [];
    for (let index = this.head; index < this.ids.length; index += 1) {
      if (this.byId.get(this.ids[index]!) !== this.values_[index]) continue;
      ids.push(this.ids[index]!);
      values.push(this.values_[index]!);
    }
    this.ids = ids;
    this.values_ = values;
    this.head = 0;
  }
}
