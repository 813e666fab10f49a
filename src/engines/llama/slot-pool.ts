import type { Priority } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';

/** A waiter in the queue: resolved with a slot, or rejected when its request goes away. */
interface Waiter<T> {
  resolve: (slot: T) => void;
  reject: (error: unknown) => void;
  choose: ((free: readonly T[]) => T) | undefined;
  hold: Holder;
}

/** Who holds a slot: its class, and how to ask it to give the slot back (batch holders only). */
interface Holder {
  priority: Priority;
  onYield: (() => void) | undefined;
  /** A batch request back from a yield (counted in `resumes` when it takes a slot). */
  resumed: boolean;
  /** Asked to yield already: counted once against the interactive waiters it makes room for. */
  yielding: boolean;
  /** An interactive holder before its first token (`AcquireOptions.prefilling`): batch requests take no slot meanwhile. */
  prefilling: boolean;
  /** Its first token came (`firstToken`): a batch holder past its prompt stops at its next token when asked to yield. */
  generating: boolean;
  /** It holds a spare slot (interactive only). */
  spare: boolean;
}

/** How a request takes a slot; every field optional (an interactive request by default). */
export interface AcquireOptions<T> {
  /** Picks among free slots (e.g. the one whose cache shares the longest prefix with the prompt). */
  choose?: (free: readonly T[]) => T;
  /** `batch` takes a slot only when no interactive request waits, and yields it when one comes. */
  priority?: Priority;
  /**
   * Called (once) when an interactive request waits and no slot is free: stop at the next token
   * boundary and release the slot. Only batch holders are asked; one without it is never asked.
   */
  onYield?: () => void;
  /** A batch request that yielded and comes back: first among batch waiters (its work is half done). */
  resumed?: boolean;
  /**
   * An interactive request that will call `firstToken` once its prompt is evaluated: until then (or
   * its release) no batch request takes a slot, so no batch prompt evaluation, KV-state save or
   * load shares llama.cpp's one context lock with its prefill.
   */
  prefilling?: boolean;
}

/**
 * A fixed set of slots with a bounded queue in front, in two classes. Interactive requests take a
 * free slot at once or wait first in line; batch requests take a slot only when it is free, no
 * interactive request waits and none evaluates its prompt (`prefilling`), wait behind every
 * interactive waiter, and are asked to yield their slot (at a token boundary; `onYield`) while an
 * interactive request waits with none free. Within
 * a class, FIFO. Past `maxQueue` waiting in a class, a request is refused with 429 so the server
 * sheds load instead of piling up latency. A waiter whose client leaves is removed without taking a slot.
 *
 * Spare slots (decision 0017): never taken by batch requests, taken by an interactive request that
 * finds no slot free while batch requests hold some, so it starts at once beside them instead of
 * making one yield (and the yielded line's state be saved inside its wait). Interactive requests
 * never hold more than `total` slots, spares included: with no batch traffic a spare is never taken
 * and the queue behaves as it does without one.
 */
export class SlotPool<T> {
  private readonly free: T[];
  /** Spare slots free now, in release order. */
  private readonly freeSpares: T[];
  private readonly interactive: Array<Waiter<T>> = [];
  private readonly batch: Array<Waiter<T>> = [];
  /** Holders of slots in use, in the order they took them. */
  private readonly holders = new Map<T, Holder>();
  /** Slots in all. */
  readonly total: number;
  /** Batch holders asked to yield so far (metrics and tests). */
  yieldsAsked = 0;
  /** Batch requests that came back after a yield and took a slot again (metrics and tests). */
  resumes = 0;
  /** Spare slots in all (interactive requests only, while batch requests hold slots). */
  readonly spares: number;
  /** Interactive requests that took a spare slot (metrics and tests). */
  spareTakes = 0;
  /** Interactive holders before their first token (`prefilling`). */
  private prefills = 0;
  /** Interactive holders, spares included. */
  private interactiveHolders = 0;

  constructor(
    slots: readonly T[],
    private readonly maxQueue: number,
    private readonly label: string,
    spares: readonly T[] = [],
  ) {
    this.free = [...slots];
    this.total = slots.length;
    this.freeSpares = [...spares];
    this.spares = spares.length;
  }

  /** Requests waiting for a slot, both classes. */
  get queued(): number {
    return this.interactive.length + this.batch.length;
  }

  /** Batch requests waiting for a slot. */
  get queuedBatch(): number {
    return this.batch.length;
  }

  /** Slots in use, spares included. */
  get busy(): number {
    return this.holders.size;
  }

  /** Slots held by batch requests now. */
  get busyBatch(): number {
    let count = 0;
    for (const holder of this.holders.values()) if (holder.priority === 'batch') count += 1;
    return count;
  }

  /**
   * Takes a slot. `choose` picks among free slots; the default takes the most recently released
   * one. `free` is in release order, oldest first. A bare function is `choose` (the older call shape).
   */
  acquire(signal: AbortSignal, options: AcquireOptions<T> | ((free: readonly T[]) => T) = {}): Promise<T> {
    const { choose, priority = 'interactive', onYield, resumed = false, prefilling = false } = typeof options === 'function' ? { choose: options } : options;
    if (signal.aborted) return Promise.reject(signal.reason);
    const hold: Holder = {
      priority,
      onYield,
      yielding: false,
      prefilling: prefilling && priority === 'interactive',
      generating: false,
      resumed,
      spare: false,
    };
    const line = priority === 'batch' ? this.batch : this.interactive;
    // Interactive: a free slot (or a spare) unless interactive requests wait already. Batch: only
    // with nobody waiting and no interactive prompt being evaluated, and never a spare.
    if (priority === 'batch' ? this.free.length > 0 && this.queued + this.prefills === 0 : this.interactive.length === 0 && this.openToInteractive() > 0) {
      return Promise.resolve(this.take(choose, hold));
    }
    if (line.length >= this.maxQueue) {
      return Promise.reject(
        new NimbusError(
          'queue_full',
          `The server is at capacity for ${this.label}: all slots are busy and ${line.length} ${priority} requests are already waiting. Retry shortly, or raise slots/maxQueue.`,
          { headers: { 'retry-after': '1' } },
        ),
      );
    }
    const waiting = new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve: (slot) => {
          signal.removeEventListener('abort', onAbort);
          resolve(slot);
        },
        reject,
        choose,
        hold,
      };
      const onAbort = (): void => {
        const index = line.indexOf(waiter);
        if (index >= 0) line.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (resumed) line.unshift(waiter);
      else line.push(waiter);
    });
    if (priority === 'interactive') this.preempt();
    return waiting;
  }

  /**
   * Returns a slot; the longest-waiting interactive request gets it, else the longest-waiting batch
   * request, unless an interactive prompt is being evaluated (the slot then waits for `firstToken`).
   */
  release(slot: T): void {
    const holder = this.holders.get(slot);
    if (!holder) return;
    this.holders.delete(slot);
    (holder.spare ? this.freeSpares : this.free).push(slot);
    if (holder.prefilling) this.prefills -= 1;
    if (holder.priority === 'interactive') this.interactiveHolders -= 1;
    // An interactive holder leaving makes room under the cap on spares for a waiter even when its slot was a spare.
    while (this.interactive.length > 0 && this.openToInteractive() > 0) {
      const next = this.interactive.shift()!;
      next.resolve(this.take(next.choose, next.hold));
    }
    this.admitBatch();
  }

  /**
   * Slots an interactive request may take now: free ordinary ones, and free spares while
   * interactive requests hold fewer than `total` (so batch requests hold the rest).
   */
  private openToInteractive(): number {
    const spares = this.interactiveHolders < this.total ? Math.min(this.freeSpares.length, this.total - this.interactiveHolders) : 0;
    return this.free.length + spares;
  }

  /**
   * A holder's first token came (its prompt is evaluated): a batch holder is now quick to yield; an
   * interactive one's `prefilling` ends and batch requests may take free slots again.
   */
  firstToken(slot: T): void {
    const holder = this.holders.get(slot);
    if (!holder) return;
    holder.generating = true;
    if (!holder.prefilling) return;
    holder.prefilling = false;
    this.prefills -= 1;
    this.admitBatch();
  }

  /** Hands free slots to batch waiters while no interactive request waits or evaluates its prompt. */
  private admitBatch(): void {
    while (this.free.length > 0 && this.interactive.length === 0 && this.prefills === 0) {
      const next = this.batch.shift();
      if (!next) return;
      next.resolve(this.take(next.choose, next.hold));
    }
  }

  /** Rejects every waiter (shutdown). */
  rejectAll(error: unknown): void {
    for (const waiter of [...this.interactive.splice(0), ...this.batch.splice(0)]) waiter.reject(error);
  }

  /**
   * Asks batch holders to yield while interactive requests wait for more slots than are already
   * being given back: one holder per waiter. Holders already generating first: one still readying
   * or evaluating its prompt (a prompt-cache load, a prefill) cannot stop until that is done, which
   * the waiter would wait out. Within each group the one that took its slot last (it has done the
   * least, and the oldest is nearest its end).
   */
  private preempt(): void {
    let yielding = 0;
    for (const holder of this.holders.values()) if (holder.yielding) yielding += 1;
    let wanted = this.interactive.length - this.openToInteractive() - yielding;
    if (wanted <= 0) return;
    const latestFirst = [...this.holders.values()].reverse();
    const holders = [...latestFirst.filter((holder) => holder.generating), ...latestFirst.filter((holder) => !holder.generating)];
    for (const holder of holders) {
      if (wanted <= 0) return;
      if (holder.priority !== 'batch' || holder.yielding || !holder.onYield) continue;
      holder.yielding = true;
      wanted -= 1;
      this.yieldsAsked += 1;
      holder.onYield();
    }
  }

  /** Hands a free slot to `hold`: an ordinary one when there is one, else (interactive only) a spare. */
  private take(choose: ((free: readonly T[]) => T) | undefined, hold: Holder): T {
    hold.spare = this.free.length === 0;
    const from = hold.spare ? this.freeSpares : this.free;
    const slot = choose ? choose(from) : from[from.length - 1]!;
    from.splice(from.indexOf(slot), 1);
    this.holders.set(slot, hold);
    if (hold.prefilling) this.prefills += 1;
    if (hold.resumed) this.resumes += 1;
    if (hold.priority === 'interactive') this.interactiveHolders += 1;
    if (hold.spare) this.spareTakes += 1;
    return slot;
  }
}
