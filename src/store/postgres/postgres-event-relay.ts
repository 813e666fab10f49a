/**
 * Live events between control planes through PostgreSQL's LISTEN/NOTIFY, on the database they
 * already share (decision 0016). Events published here are gathered for `batchMs` and sent as few
 * notifications as fit PostgreSQL's 8000-byte payload (`maxPayloadBytes`); one event too large for
 * a notification alone is written to `live_event_bodies` (migration 0042) and its id is sent, and
 * the receivers read it. One connection listens and reconnects after a loss (events sent while it
 * was down are not seen: the feed is best effort, the store is the record); a pool of two sends.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { LiveEventRelay } from '../../core/live-event-relay.js';
import type { LiveEvent } from '../../core/live-events.js';

/** Options of `PostgresEventRelay`. */
export interface PostgresEventRelayOptions {
  url: string;
  /** The schema the store's tables live in (tests); its name also scopes the channel. */
  schema?: string;
  /** This control plane's name: its own notifications come back to it and are skipped. */
  origin: string;
  /** Events gathered this long into one notification; default 20 ms. */
  batchMs?: number;
  /** Bytes of one notification's payload at most; default 7000 (PostgreSQL refuses 8000 and above). */
  maxPayloadBytes?: number;
  /** How long a body in `live_event_bodies` is kept for the receivers; default 60 s. */
  bodyTtlMs?: number;
  /** Wait before listening again after the connection was lost; default 1000 ms. */
  reconnectMs?: number;
  /** Sending, receiving or listening failed (the relay goes on). */
  onError?: (error: unknown) => void;
}

/** A notification's payload: the events themselves, or the id of a body to read. */
type Notice = { o: string; e: LiveEvent[] } | { o: string; id: string };

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** The channel of a database (and schema): notifications never cross databases, schemas share one. */
export function liveEventChannel(schema?: string): string {
  return (schema ? `nimbus_live_${schema}` : 'nimbus_live').slice(0, 63);
}

/** `LiveEventRelay` over LISTEN/NOTIFY. */
export class PostgresEventRelay implements LiveEventRelay {
  private readonly channel: string;
  private readonly pool: pg.Pool;
  private readonly clientOptions: pg.ClientConfig;
  private readonly maxPayloadBytes: number;
  private readonly bodyTtlMs: number;
  private listener: pg.Client | undefined;
  private receive: ((event: LiveEvent) => void) | undefined;
  private queue: LiveEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private receiving: Promise<void> = Promise.resolve();
  private closed = false;
  private prunedAt = 0;

  constructor(private readonly options: PostgresEventRelayOptions) {
    if (options.schema !== undefined && !identifier.test(options.schema)) throw new Error(`Invalid PostgreSQL schema name '${options.schema}'.`);
    this.channel = liveEventChannel(options.schema);
    this.clientOptions = { connectionString: options.url, ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}) };
    this.pool = new pg.Pool({ ...this.clientOptions, max: 2 });
    this.pool.on('error', (error) => this.failed(error));
    this.maxPayloadBytes = options.maxPayloadBytes ?? 7000;
    this.bodyTtlMs = options.bodyTtlMs ?? 60_000;
  }

  async start(receive: (event: LiveEvent) => void): Promise<void> {
    this.receive = receive;
    await this.listen().catch((error: unknown) => {
      this.failed(error);
      this.listenLater();
    });
  }

  send(event: LiveEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    this.timer ??= setTimeout(() => this.flush(), this.options.batchMs ?? 20);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await this.sending;
    await this.receiving;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const events = this.queue.splice(0);
    if (events.length === 0) return;
    // One after another, so the receivers see events in the order they were published here.
    this.sending = this.sending.then(() => this.publish(events)).catch((error: unknown) => this.failed(error));
  }

  /** Sends `events` in as few notifications as fit; one too large alone goes through the bodies table. */
  private async publish(events: readonly LiveEvent[]): Promise<void> {
    const origin = this.options.origin;
    // The payload is {"o":...,"e":[...]}: its envelope, each event's JSON, and a comma between two.
    const envelope = Buffer.byteLength(JSON.stringify({ o: origin, e: [] }));
    let batch: LiveEvent[] = [];
    let bytes = envelope;
    for (const event of events) {
      const size = Buffer.byteLength(JSON.stringify(event));
      if (envelope + size > this.maxPayloadBytes) {
        if (batch.length > 0) await this.notify({ o: origin, e: batch });
        await this.notify({ o: origin, id: await this.writeBody([event]) });
        batch = [];
        bytes = envelope;
        continue;
      }
      const added = size + (batch.length > 0 ? 1 : 0);
      if (bytes + added > this.maxPayloadBytes) {
        await this.notify({ o: origin, e: batch });
        batch = [event];
        bytes = envelope + size;
        continue;
      }
      batch.push(event);
      bytes += added;
    }
    if (batch.length > 0) await this.notify({ o: origin, e: batch });
  }

  private async notify(notice: Notice): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [this.channel, JSON.stringify(notice)]);
  }

  private async writeBody(events: readonly LiveEvent[]): Promise<string> {
    const id = `leb_${randomBytes(12).toString('base64url')}`;
    const now = Date.now();
    await this.pool.query('insert into live_event_bodies (id, body, created_at) values ($1, $2, $3)', [id, JSON.stringify(events), now]);
    // Bodies are read within moments of their notification; old ones go, at most once a TTL.
    if (now - this.prunedAt >= this.bodyTtlMs) {
      this.prunedAt = now;
      await this.pool.query('delete from live_event_bodies where created_at < $1', [now - this.bodyTtlMs]);
    }
    return id;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.clientOptions);
    client.on('notification', (message) => {
      if (message.channel !== this.channel || !message.payload) return;
      const payload = message.payload;
      this.receiving = this.receiving.then(() => this.handle(payload)).catch((error: unknown) => this.failed(error));
    });
    client.on('error', (error) => {
      this.failed(error);
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`listen ${this.channel}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    this.listenLater();
  }

  private listenLater(): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      if (this.closed) return;
      this.listen().catch((error: unknown) => {
        this.failed(error);
        this.listenLater();
      });
    }, this.options.reconnectMs ?? 1000);
    timer.unref();
  }

  private async handle(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as Notice;
    if (notice.o === this.options.origin) return;
    let events: LiveEvent[];
    if ('e' in notice) events = notice.e;
    else {
      const result = await this.pool.query<{ body: string }>('select body from live_event_bodies where id = $1', [notice.id]);
      const row = result.rows[0];
      if (!row) return;
      events = JSON.parse(row.body) as LiveEvent[];
    }
    for (const event of events) this.receive?.(event);
  }

  private failed(error: unknown): void {
    this.options.onError?.(error);
  }
}
