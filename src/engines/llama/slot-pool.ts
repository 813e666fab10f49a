import { NimbusError } from '../../core/errors.js';

/** A waiter in the queue: resolved with a slot, or rejected when its request goes away. */
interface Waiter<T> {
  resolve: (slot: T) => void;
  reject: (error: unknown) => void;
  choose: ((free: readonly T[]) => T) | undefined;
}

/**
 * A fixed set of slots with a bounded FIFO queue in front. A request takes a free slot at once,
 * or waits its turn; past `maxQueue` waiting, it is refused with 429 so the server sheds load
 * instead of piling up latency. A waiter whose client leaves is removed without taking a slot.
 */
export class SlotPool<T> {
  private readonly free: T[];
  private readonly waiters: Array<Waiter<T>> = [];
  /** Slots in all. */
  readonly total: number;

  constructor(
    slots: readonly T[],
    private readonly maxQueue: number,
    private readonly label: string,
  ) {
    this.free = [...slots];
    this.total = slots.length;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Slots in use. */
  get busy(): number {
    return this.total - this.free.length;
  }

  /**
   * Takes a slot. `choose` picks among free slots (e.g. the one whose cache shares the longest
   * prefix with the prompt); the default takes the most recently released one. `free` is in release order, oldest first.
   */
  acquire(signal: AbortSignal, choose?: (free: readonly T[]) => T): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.free.length > 0 && this.waiters.length === 0) return Promise.resolve(this.take(choose));
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(
        new NimbusError(
          'queue_full',
          `The server is at capacity for ${this.label}: all slots are busy and ${this.waiters.length} requests are already waiting. Retry shortly, or raise slots/maxQueue.`,
          { headers: { 'retry-after': '1' } },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve: (slot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject,
        choose,
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns a slot; the longest-waiting request gets it. */
  release(slot: T): void {
    this.free.push(slot);
    const next = this.waiters.shift();
    if (next) next.resolve(this.take(next.choose));
  }

  /** Rejects every waiter (shutdown). */
  rejectAll(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private take(choose: ((free: readonly T[]) => T) | undefined): T {
    const slot = choose ? choose(this.free) : this.free[this.free.length - 1]!;
    this.free.splice(this.free.indexOf(slot), 1);
    return slot;
  }
}
