/**
 * The floor a Node proxy can reach: node:http in, node:http out over a keep-alive agent, bodies
 * piped both ways, no parsing. bench/gateway.ts compares Nimbus with it.
 *
 *   node --import tsx bench/bare-proxy.ts UPSTREAM_URL
 */
import { Agent, createServer, request as send } from 'node:http';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8080');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((request, response) => {
  const headers = { ...request.headers, host: upstream.host };
  delete headers.connection;
  const outgoing = send({ host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers, agent }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  outgoing.on('error', () => {
    response.writeHead(502);
    response.end();
  });
  request.pipe(outgoing);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`listening on http://127.0.0.1:${address.port}`);
});
