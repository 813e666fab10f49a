/**
 * The live feed across control planes through PostgreSQL LISTEN/NOTIFY: two buses (two control
 * planes) on one schema, each connected to its own relay. What one publishes reaches the other in
 * order, never comes back to itself, and twin and model-pull events stay home; a burst goes as
 * several notifications under the payload limit; an event too large for one travels through
 * `live_event_bodies`.
 */
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { relayLiveEvents } from '../src/core/live-event-relay.js';
import { LiveEventBus, type LiveEvent, type LiveEventType } from '../src/core/live-events.js';
import { PostgresEventRelay } from '../src/store/postgres/postgres-event-relay.js';
import { openPostgresStore } from '../src/store/postgres/open-postgres-store.js';
import { dropSchemas, postgresUrl, skipWithoutPostgres, uniqueName } from './support/services.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

const event = (type: LiveEventType, data: unknown): LiveEvent => ({ type, tenantId: 'default', keyId: null, deviceId: null, adminOnly: false, data });

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('live events across control planes on PostgreSQL', () => {
  test('published on one, seen on the other in order; not echoed; twins and pulls stay home; large events through the bodies table', async (context) => {
    if (await skipWithoutPostgres()) return context.skip();
    const schema = uniqueName('nimbus_live');
    schemas.push(schema);
    const store = await openPostgresStore(postgresUrl, { schema });
    const errors: unknown[] = [];
    const planes = ['a', 'b'].map((origin) => {
      const bus = new LiveEventBus();
      const seen: LiveEvent[] = [];
      bus.subscribe((received) => seen.push(received));
      return { bus, seen, relay: new PostgresEventRelay({ url: postgresUrl, schema, origin, onError: (error) => errors.push(error) }) };
    });
    const [a, b] = planes as [(typeof planes)[0], (typeof planes)[0]];
    const stops = [await relayLiveEvents(a.bus, a.relay), await relayLiveEvents(b.bus, b.relay)];
    try {
      const sentAt = performance.now();
      a.bus.publish(event('approval', { event: 'approval_granted', approval: 'apr_1' }));
      a.bus.publish(event('twin', { device: 'lamp-1' }));
      a.bus.publish(event('model_pull', { id: 'pull_1' }));
      a.bus.publish(event('estop', { event: 'emergency_stop' }));
      await until(() => b.seen.length >= 2);
      const tookMs = performance.now() - sentAt;
      expect(b.seen.map((seen) => seen.type)).toEqual(['approval', 'estop']);
      expect(b.seen[0]).toEqual(event('approval', { event: 'approval_granted', approval: 'apr_1' }));
      expect(tookMs).toBeLessThan(1000);

      // A burst of 300 request events (~150 bytes each): several notifications, every one in order.
      for (let index = 0; index < 300; index += 1) b.bus.publish(event('request', { id: `req_${index}`, model: 'stories', tokens: index }));
      await until(() => a.seen.filter((seen) => seen.type === 'request').length >= 300);
      expect(a.seen.filter((seen) => seen.type === 'request').map((seen) => (seen.data as { id: string }).id)).toEqual(
        Array.from({ length: 300 }, (_, index) => `req_${index}`),
      );

      // Too large for a notification (PostgreSQL refuses 8000 bytes): written to the bodies table, read by id.
      const large = event('audit', { event: 'action_sent', input: 'x'.repeat(20_000) });
      a.bus.publish(event('audit', { before: true }));
      a.bus.publish(large);
      a.bus.publish(event('audit', { after: true }));
      await until(() => b.seen.filter((seen) => seen.type === 'audit').length >= 3);
      expect(b.seen.filter((seen) => seen.type === 'audit')).toEqual([event('audit', { before: true }), large, event('audit', { after: true })]);
      const counted = new pg.Client({ connectionString: postgresUrl });
      await counted.connect();
      const bodies = await counted.query(`select id from ${schema}.live_event_bodies`);
      await counted.end();
      expect(bodies.rows).toHaveLength(1);

      // Nothing came back to where it was published.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(a.seen.filter((seen) => seen.type === 'approval')).toHaveLength(1);
      expect(b.seen.filter((seen) => seen.type === 'request')).toHaveLength(300);
      expect(errors).toEqual([]);
    } finally {
      for (const stop of stops) await stop();
      await store.close();
    }
  }, 30_000);
});
