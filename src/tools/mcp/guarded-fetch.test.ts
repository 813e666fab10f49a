import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { guardedFetch, McpRefusal } from './guarded-fetch.js';

let http: Server;
let port: number;
beforeAll(async () => {
  http = createServer((request, response) => {
    if (request.url === '/redirect') response.writeHead(302, { location: `http://127.0.0.1:${port}/big` }).end();
    else if (request.url === '/declared') response.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
    else response.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(request.url === '/big' ? 5000 : 10));
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  port = (http.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((done) => http.close(() => done())));

const limits = { allowedHosts: ['127.0.0.1', 'localhost'], allowLoopback: true, connectTimeoutMs: 2000, maxResponseBytes: 1024 };

test('answers within the cap pass; a body past it fails while it is read', async () => {
  const fetch = guardedFetch(limits);
  expect(await (await fetch(`http://127.0.0.1:${port}/small`)).text()).toBe('x'.repeat(10));
  await expect(fetch(`http://127.0.0.1:${port}/big`).then((answer) => answer.text())).rejects.toThrow(/mcp.maxResponseBytes/);
  // A declared length past the cap fails before the body is read.
  await expect(fetch(`http://127.0.0.1:${port}/declared`)).rejects.toBeInstanceOf(McpRefusal);
});

test('redirects are not followed', async () => {
  await expect(guardedFetch(limits)(`http://127.0.0.1:${port}/redirect`)).rejects.toThrow();
});

test('the address is checked when the connection opens, not only before: a name resolving to loopback is refused without the switch', async () => {
  const strict = guardedFetch({ ...limits, allowLoopback: false });
  const refused = await strict(`http://localhost:${port}/small`).catch((error: unknown) => error);
  expect(String((refused as { cause?: unknown }).cause ?? refused)).toMatch(/may not be on|not loopback/);
  await expect(strict(`http://127.0.0.1:${port}/small`)).rejects.toBeInstanceOf(McpRefusal);
  await expect(strict(`http://elsewhere.test:${port}/small`)).rejects.toBeInstanceOf(McpRefusal);
});
