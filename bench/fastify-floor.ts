/**
 * The floor a gateway built as Nimbus is (Fastify in front, undici's dispatcher to the upstream)
 * reaches with none of its features: the body parsed as JSON and sent on under the upstream's
 * model name, the answer relayed as it comes (a stream's bytes written as they arrive), nothing
 * checked, counted, logged or retried. bench/gateway.ts compares Nimbus with it and with the
 * bare node:http proxy, so what Nimbus's own work costs is told apart from what the framework
 * costs.
 *
 *   node --import tsx bench/fastify-floor.ts UPSTREAM_URL
 */
import Fastify from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8080');
const pool = new Pool(upstream.origin, { connections: 64 });
const app = Fastify({ logger: false });
const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

app.post('/v1/chat/completions', (request, reply) => {
  const body = request.body as { stream?: boolean };
  const payload = JSON.stringify({ ...body, model: 'fixed-model' });
  return new Promise<void>((resolve) => {
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      // undici refuses a handler without a start hook.
      onRequestStart() {},
      onResponseStart(_controller: Dispatcher.DispatchController, _status: number, _headers: IncomingHttpHeaders) {
        if (!body.stream) return;
        reply.hijack();
        reply.raw.writeHead(200, sseHeaders);
      },
      onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer) {
        if (body.stream) reply.raw.write(chunk);
        else chunks.push(chunk);
      },
      onResponseEnd() {
        if (body.stream) reply.raw.end();
        else void reply.type('application/json').send(Buffer.concat(chunks));
        resolve();
      },
      onResponseError(_controller: Dispatcher.DispatchController, error: Error) {
        if (body.stream) reply.raw.destroy(error);
        else void reply.code(502).send({ error: error.message });
        resolve();
      },
    };
    pool.dispatch({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: payload }, handler);
  });
});

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
if (address && typeof address === 'object') console.log(`listening on http://127.0.0.1:${address.port}`);
