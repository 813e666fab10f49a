/**
 * What the console needs from the server, on a real server with stories260K: the SPA at `/` with
 * cache headers and the page fallback (public), `/v1/me`, and `/v1/events` carrying finished
 * requests to the keys allowed to see them. Run `npm run build` first (it builds console/dist).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openEventStream } from './support/event-stream.js';
import { repoRoot, skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
let server: TestServer;
let admin = '';
let inference = '';

async function call(path: string, key?: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    ...init,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.headers as Record<string, string>) },
  });
}

async function chat(key: string, stream: boolean): Promise<void> {
  const response = await call('/v1/chat/completions', key, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, temperature: 0, stream }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

beforeAll(async () => {
  if (skip) return;
  if (!existsSync(join(repoRoot, 'console', 'dist', 'index.html'))) throw new Error('console/dist is missing: run npm run build first.');
  server = await startTestServer();
  // In local mode, /v1/me says so; then the first key ends local mode.
  const local = await (await call('/v1/me')).json();
  expect(local).toMatchObject({ local: true, operator: true, tenant: 'default', scopes: { admin: true, inference: true } });
  const created = await call('/v1/keys', undefined, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'operator', scopes: { admin: true, devices: '*' } }),
  });
  admin = ((await created.json()) as { key: string }).key;
  const second = await call('/v1/keys', admin, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'app' }),
  });
  inference = ((await second.json()) as { key: string }).key;
});
afterAll(async () => {
  await server?.stop();
});

describe.skipIf(skip)('the console at /', () => {
  test('serves the SPA without a key, with revalidation for the page and a year of cache for hashed assets', async () => {
    const page = await call('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    const etag = page.headers.get('etag')!;
    expect((await call('/', undefined, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    expect(readdirSync(join(repoRoot, 'console', 'dist', 'assets'))).toContain(script.slice('/assets/'.length));
    const asset = await call(script, undefined, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    // The console's own pages survive a reload; a missing file and unknown API paths do not become the page.
    const deep = await call('/devices');
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    expect((await call('/assets/missing.js')).status).toBe(404);
    const api = await call('/v1/nothing-here');
    expect(api.status).toBe(401);
    const withKey = await call('/v1/nothing-here', admin);
    expect(withKey.status).toBe(404);
    expect(((await withKey.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe.skipIf(skip)('GET /v1/me', () => {
  test('says who the key is and what it may do; no key is a 401 once keys exist', async () => {
    const me = await (await call('/v1/me', inference)).json();
    expect(me).toMatchObject({
      object: 'principal',
      tenant: 'default',
      local: false,
      operator: false,
      scopes: { inference: true, admin: false, models: '*', devices: [] },
      devices_enabled: true,
    });
    expect((me as { key: string }).key).toMatch(/^key_/);
    expect(await (await call('/v1/me', admin)).json()).toMatchObject({ operator: true, scopes: { admin: true } });
    expect((await call('/v1/me')).status).toBe(401);
    expect((await call('/v1/events')).status).toBe(401);
  });
});

describe.skipIf(skip)('GET /v1/events', () => {
  test('an admin sees every request with its tokens and time to first token; a plain key only its own', async () => {
    const adminFeed = await openEventStream(server.url, admin);
    const ownFeed = await openEventStream(server.url, inference);
    try {
      await chat(admin, true);
      const seen = await adminFeed.next((event) => event.type === 'request');
      expect(seen.data).toMatchObject({ model: 'stories', kind: 'chat', status: 'ok', http_status: 200, device_class: 'cpu', tenant: 'default' });
      expect(seen.data.completion_tokens).toBeGreaterThan(0);
      expect(seen.data.ttft_ms).toBeGreaterThan(0);
      await chat(inference, false);
      const own = await ownFeed.next((event) => event.type === 'request');
      const me = (await (await call('/v1/me', inference)).json()) as { key: string };
      expect(own.data.key).toBe(me.key);
      await adminFeed.next((event) => event.type === 'request' && event.data.key === own.data.key);
      // The plain key's feed never carried the admin's request.
      expect(ownFeed.events.filter((event) => event.type === 'request')).toHaveLength(1);
      // A feed opened now starts with the last minute's requests it may see, right after `ready`.
      const late = await openEventStream(server.url, inference);
      try {
        await late.next((event) => event.type === 'request');
        expect(late.events.map((event) => [event.type, event.data.id as string | undefined])).toEqual([
          ['ready', undefined],
          ['request', own.data.id],
        ]);
      } finally {
        late.close();
      }
    } finally {
      adminFeed.close();
      ownFeed.close();
    }
  });

  test('open feeds do not keep the server from stopping', async () => {
    const feed = await openEventStream(server.url, admin);
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(3000);
    feed.close();
    server = undefined as unknown as TestServer;
  });
});
