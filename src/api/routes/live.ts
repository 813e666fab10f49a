/**
 * `GET /v1/me`: who this key is (tenant, scopes, local mode), so a client such as the console can
 * show what the key may use. `GET /v1/events`: the live feed as server-sent events, filtered by
 * what the key may see (`live-access.ts`): `request` (a finished request with model, tokens and
 * time to first token), `twin`, `approval`, `estop`, `audit`; a comment every `heartbeatMs`
 * keeps proxies from closing an idle stream.
 */
import type { FastifyInstance } from 'fastify';
import { isOperator } from '../admin-access.js';
import { maySee } from '../live-access.js';
import type { ServerContext } from '../server-context.js';

/** A stream whose client reads slower than this many buffered bytes is closed, not buffered forever. */
const maxBufferedBytes = 4 << 20;

export function registerLiveRoutes(app: FastifyInstance, context: ServerContext, heartbeatMs = 15_000): void {
  const open = new Set<() => void>();
  // Open feeds never end on their own: close them so the server can stop.
  app.addHook('preClose', async () => {
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
