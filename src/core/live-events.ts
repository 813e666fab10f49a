/**
 * The live feed: what happened just now (a request finished, a twin changed, an approval was asked
 * for or decided, the emergency stop moved, a model pull made progress, a deployment changed, an alert fired or resolved), fanned out in process to whoever listens (the
 * `/v1/events` stream of the console). Best effort and in memory: the ledger, the twins and the
 * audit log stay the record; a listener that misses an event reads those.
 */

/** What an event is about; the console picks its handler by it. */
export type LiveEventType = 'request' | 'twin' | 'approval' | 'estop' | 'audit' | 'model_pull' | 'deployment' | 'alert';

/** One event, with what the HTTP layer needs to decide which keys may see it. */
export interface LiveEvent {
  type: LiveEventType;
  /** The tenant it belongs to. */
  tenantId: string;
  /** The API key it concerns (requests: the caller); null when none. */
  keyId: string | null;
  /** The device it concerns, for twin updates; null otherwise. */
  deviceId: string | null;
  /** True when only admin keys of the tenant (or the operator) may see it. */
  adminOnly: boolean;
  /** The payload, already in the public API's shape. */
  data: unknown;
}

/** A listener of the feed. */
export type LiveEventListener = (event: LiveEvent) => void;

/** In-process fan-out of live events. Publishing never throws and never waits. */
export class LiveEventBus {
  private readonly listeners = new Set<LiveEventListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LiveEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Hands an event to every listener; a listener that throws is skipped, not the rest. */
  publish(event: LiveEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener (a closed socket) must not stop the request that published.
      }
    }
  }

  /** How many listeners are attached (open console feeds). */
  get size(): number {
    return this.listeners.size;
  }
}
