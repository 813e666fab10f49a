/**
 * The live feed across control planes that share a store: events published in this process are
 * sent to the others, and theirs are published here, so a console on any control plane sees a
 * request finished, an approval asked for or decided, or the emergency stop moved through any of
 * them. Best effort like the feed itself: the ledger, approvals and audit log in the store stay the
 * record. The PostgreSQL implementation is `store/postgres/postgres-event-relay.ts` (decision 0016).
 */
import type { LiveEvent, LiveEventBus, LiveEventType } from './live-events.js';

/** Carries live events between control planes. */
export interface LiveEventRelay {
  /** Sends an event published here to the other control planes; never throws, never waits. */
  send(event: LiveEvent): void;
  /** Starts receiving the other control planes' events (resolves once listening). */
  start(receive: (event: LiveEvent) => void): Promise<void>;
  /** Sends what is queued and stops. */
  close(): Promise<void>;
}

/**
 * The events that travel. Twin changes do not: each control plane's bridge subscribes to every
 * device on the shared broker and sees them itself. Model pulls do not: each control plane has
 * its own model cache, and a pull's progress is about that one. Deployment changes do: the others
 * read the store at once on one (src/api/deployment-events.ts). Alerts do: only the leader
 * evaluates them, and a console on any control plane shows their count.
 */
export const relayedEventTypes: ReadonlySet<LiveEventType> = new Set(['request', 'approval', 'estop', 'audit', 'deployment', 'alert']);

/** Connects a bus to a relay both ways; returns the function that stops it (and closes the relay). */
export async function relayLiveEvents(bus: LiveEventBus, relay: LiveEventRelay): Promise<() => Promise<void>> {
  // Events that came from elsewhere are published here and must not go back out.
  const received = new WeakSet<LiveEvent>();
  const unsubscribe = bus.subscribe((event) => {
    if (!received.has(event) && relayedEventTypes.has(event.type)) relay.send(event);
  });
  await relay.start((event) => {
    received.add(event);
    bus.publish(event);
  });
  return async () => {
    unsubscribe();
    await relay.close();
  };
}
