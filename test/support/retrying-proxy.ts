/**
 * A load balancer for tests: round-robin over control planes, and a request whose control plane
 * refuses the connection (or breaks it before answering) is tried on the next, as haproxy's
 * `retry-on conn-failure` does. Once an answer has begun, a broken upstream breaks the client's
 * connection: the client sees the error, as it would behind a real balancer.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RetryingProxy {
  url: string;
  /** Requests tried again on another control plane after a connection failure. */
  retries: number;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port over `upstreams` (base URLs), read at each request. */
export async function startRetryingProxy(upstreams: () => string[]): Promise<RetryingProxy> {
  let next = 0;
  const state = { retries: 0 };
  const server: Server = createServer((incoming, outgoing) => {
    const body: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => body.push(chunk));
    incoming.on('end', () => {
      const targets = upstreams();
      const first = next++;
      const attempt = (tries: number): void => {
        if (tries >= targets.length) {
          outgoing.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"no control plane answered"}}');
          return;
        }
        const target = new URL(incoming.url ?? '/', targets[(first + tries) % targets.length]);
        const upstream = request(target, { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-proxy-upstream': target.origin });
          answer.pipe(outgoing);
          answer.on('error', () => outgoing.destroy());
          answer.on('aborted', () => outgoing.destroy());
        });
        upstream.on('error', () => {
          if (outgoing.headersSent) return void outgoing.destroy();
          state.retries += 1;
          attempt(tries + 1);
        });
        upstream.end(Buffer.concat(body));
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get retries() {
      return state.retries;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
