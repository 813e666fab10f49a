/**
 * `GET /v1/me`: who this key is (tenant, scopes, local mode), so a client such as the console can
 * show what the key may use. `GET /v1/events`: the live feed as server-sent events, filtered by
 * what the key may see (`live-access.ts`): `request` (a finished request with model, tokens and
 * time to first token), `twin`, `approval`, `estop`, `audit`; a comment every `heartbeatMs`
 * keeps proxies from closing an idle stream. A new feed starts with the last minute of finished
 * requests it may see, so a freshly opened overview has its charts at once.
 */
import type { FastifyInstance } from 'fastify';
import type { LiveEvent } from '../../core/live-events.js';
import { isOperator } from '../admin-access.js';
import { maySee } from '../live-access.js';
import type { ServerContext } from '../server-context.js';

/** A stream whose client reads slower than this many buffered bytes is closed, not buffered forever. */
const maxBufferedBytes = 4 << 20;
/** Finished requests a new feed starts with, so its charts show the last minute at once. */
const replayMs = 60_000;
const replayMax = 2000;

/** Registers `/v1/me` and `/v1/events`; ends open feeds before the server closes. */
export function registerLiveRoutes(app: FastifyInstance, context: ServerContext, heartbeatMs = 15_000): void {
  const open = new Set<() => void>();
  const recent: Array<{ at: number; event: LiveEvent }> = [];
  const keepRecent = context.events.subscribe((event) => {
    if (event.type !== 'request') return;
    const now = Date.now();
    recent.push({ at: now, event });
    while (recent.length > replayMax || (recent[0] && recent[0].at < now - replayMs)) recent.shift();
  });
  // Open feeds never end on their own: close them so the server can stop.
  app.addHook('preClose', async () => {
    keepRecent();
    for (const close of [...open]) close();
  });

  app.get('/v1/me', async (request) => {
    const { principal } = request;
    return {
      object: 'principal',
      tenant: principal.tenantId,
      key: principal.keyId,
      local: principal.local,
      operator: isOperator(principal),
      scopes: { ...principal.scopes },
      devices_enabled: context.devices !== undefined,
    };
  });

  app.get('/v1/events', (request, reply) => {
    const { principal } = request;
    reply.hijack();
    const raw = reply.raw;
    // connection: close: a feed's socket is never reused, so ending the feed (at shutdown) frees it at once.
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ tenant: principal.tenantId, key: principal.keyId })}\n\n`);
    const since = Date.now() - replayMs;
    const replay = recent.filter((entry) => entry.at >= since && maySee(principal, entry.event));
    if (replay.length > 0) raw.write(replay.map((entry) => `event: request\ndata: ${JSON.stringify(entry.event.data)}\n\n`).join(''));
    const unsubscribe = context.events.subscribe((event) => {
      if (!maySee(principal, event)) return;
      if (raw.writableLength > maxBufferedBytes) return close();
      raw.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    });
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), heartbeatMs);
    heartbeat.unref();
    const close = (): void => {
      if (!open.delete(close)) return;
      clearInterval(heartbeat);
      unsubscribe();
      raw.end();
    };
    open.add(close);
    raw.on('close', close);
  });
}
