/**
 * DNS rebinding in local mode: a page that rebinds its own name to 127.0.0.1 sends its own name
 * as the Host header. A keyless server on loopback answers only to loopback names with its port
 * (and names the operator lists), the event feed included; before, such a page minted an admin
 * key (201). Real server, real port, node:http (fetch will not send another Host).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startTestServer({ models: [], mqttUrl: 'off', allowedHosts: ['nimbus.internal:8080'] });
  port = Number(new URL(server.url).port);
});
afterAll(async () => server?.stop());

/** One request with this Host header; resolves to the status (and ends the response at once). */
function send(method: string, path: string, host: string, body?: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, method, path, headers: { host, ...(body ? { 'content-type': 'application/json' } : {}) } },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body ? JSON.stringify(body) : undefined);
  });
}

test('a rebinding page cannot mint an admin key, read the event feed or call the API; loopback names with the port can', async () => {
  for (const host of [`attacker.example:${port}`, `localhost.attacker.example:${port}`, `localhost:${port + 1}`]) {
    expect(await send('POST', '/v1/keys', host, { name: 'stolen', scopes: { admin: true } })).toBe(403);
    expect(await send('GET', '/v1/events', host)).toBe(403);
    expect(await send('GET', '/v1/models', host)).toBe(403);
  }
  expect(await server.nimbus.store.tenancy.countApiKeys()).toBe(0);
  expect(await send('GET', '/v1/models', `localhost:${port}`)).toBe(200);
  expect(await send('GET', '/v1/models', `127.0.0.1:${port}`)).toBe(200);
  expect(await send('GET', '/v1/models', `[::1]:${port}`)).toBe(200);
  // A listed name is the operator's choice; the same name on another port is not.
  expect(await send('GET', '/v1/models', 'nimbus.internal:8080')).toBe(200);
  expect(await send('GET', '/v1/models', 'nimbus.internal:8081')).toBe(403);
  expect(await send('POST', '/v1/keys', `localhost:${port}`, { name: 'operator', scopes: { admin: true } })).toBe(201);
});
