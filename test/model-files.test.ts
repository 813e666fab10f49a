/**
 * The model cache over HTTP (`/v1/model-files`) against a local stand-in for the Hugging Face hub:
 * a real Nimbus (real port, SQLite, the pool runtime) whose configured model is downloaded from
 * the hub at start; pulls with progress on the live feed, joined pulls, a failed pull, deletion
 * refused while a deployment or the configuration uses a file, and admin-only access.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openEventStream, type EventStream } from './support/event-stream.js';
import { startModelHub, type ModelHub } from './support/model-hub.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';
import { callJson, type JsonAnswer } from './support/json-api.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('model files over HTTP', () => {
  let hub: ModelHub;
  let server: TestServer;
  let admin = '';
  let user = '';
  let feed: EventStream;
  let userFeed: EventStream;
  const model = skip ? Buffer.alloc(0) : readFileSync(storiesPath!);

  const api = (method: string, path: string, body?: unknown, key = admin): Promise<JsonAnswer> => callJson(server.url, method, path, body, key);

  /** Polls a pull until it has ended. */
  async function finished(id: string): Promise<{ state: string; error: string | null; bytes: number; total: number | null }> {
    for (let tries = 0; tries < 200; tries += 1) {
      const { body } = await api('GET', `/v1/model-files/pulls/${id}`);
      if (body.state === 'done' || body.state === 'failed') return body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`pull ${id} did not end`);
  }

  beforeAll(async () => {
    hub = await startModelHub();
    hub.add('owner/repo/configured.gguf', { data: model });
    // About 1.2 MB in 16 KiB steps every 20 ms: a download of about 1.5 s, with progress to see.
    hub.add('owner/repo/pulled.gguf', { data: model, chunkBytes: 16 * 1024, stepMs: 20 });
    server = await startTestServer({ hfEndpoint: hub.url, models: [{ id: 'configured', source: 'hf:owner/repo/configured.gguf' }] });
    const created = await api('POST', '/v1/keys', { name: 'operator', scopes: { admin: true } }, '');
    admin = created.body.key;
    user = (await api('POST', '/v1/keys', { name: 'user' })).body.key;
    feed = await openEventStream(server.url, admin);
    userFeed = await openEventStream(server.url, user);
  });
  afterAll(async () => {
    feed?.close();
    userFeed?.close();
    await server?.stop();
    await hub?.close();
  });

  test('lists the cache: the configured model, downloaded at start, in use by the configuration', async () => {
    const { status, body } = await api('GET', '/v1/model-files');
    expect(status).toBe(200);
    expect(body).toEqual({
      object: 'list',
      data: [
        expect.objectContaining({
          object: 'model_file',
          ref: 'hf:owner/repo/configured.gguf',
          size: model.length,
          incomplete: false,
          in_use_by: ['configured model configured'],
          pulling: false,
        }),
      ],
    });
  });

  test('a pull is accepted with 202, shows its progress on the live feed, and ends in the list; a second pull joins it', async () => {
    const startedAt = Date.now();
    const started = await api('POST', '/v1/model-files/pull', { ref: 'hf:owner/repo/pulled.gguf' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ object: 'model_pull', id: expect.stringMatching(/^pull_/), ref: 'hf:owner/repo/pulled.gguf', joined: false });
    expect(['queued', 'downloading']).toContain(started.body.state);
    const joined = await api('POST', '/v1/model-files/pull', { ref: 'hf:owner/repo@main/pulled.gguf' });
    expect(joined).toMatchObject({ status: 202, body: { id: started.body.id, joined: true } });
    const done = await finished(started.body.id);
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    expect(done).toMatchObject({ state: 'done', bytes: model.length, total: model.length, error: null });
    expect(hub.gets).toBe(2); // the configured model, then this one, once
    await feed.next((event) => event.type === 'model_pull' && event.data.state === 'done');
    const reports = feed.events.filter((event) => event.type === 'model_pull' && event.data.id === started.body.id).map((event) => event.data);
    const progress = reports.filter((report) => report.state === 'downloading' && report.bytes > 0 && report.bytes < model.length);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(reports.at(-1)).toMatchObject({ state: 'done', bytes: model.length });
    // At most four progress reports a second (state changes come on top).
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds * 4) + 1);
    // Only the operator's feed hears of pulls.
    expect(userFeed.events.filter((event) => event.type === 'model_pull')).toEqual([]);
    const listed = await api('GET', '/v1/model-files');
    expect(listed.body.data.map((file: { ref: string }) => file.ref)).toEqual(['hf:owner/repo/configured.gguf', 'hf:owner/repo/pulled.gguf']);
    expect(listed.body.data[1]).toMatchObject({ size: model.length, in_use_by: [] });
    const pulls = await api('GET', '/v1/model-files/pulls');
    expect(pulls.body.data[0]).toMatchObject({ id: started.body.id, state: 'done' });
  });

  test('a pull of a file the hub does not have fails, and says why', async () => {
    const started = await api('POST', '/v1/model-files/pull', { ref: 'hf:owner/repo/missing.gguf' });
    expect(started.status).toBe(202);
    const failed = await finished(started.body.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain("the file 'missing.gguf' does not exist in owner/repo");
    await feed.next((event) => event.type === 'model_pull' && event.data.id === started.body.id && event.data.state === 'failed');
  });

  test('bad references are a 400 naming ref; unknown pulls a 404', async () => {
    for (const ref of ['hf:owner', 'https://huggingface.co/owner/repo/resolve/main/x.gguf', '/tmp/local.gguf']) {
      const refused = await api('POST', '/v1/model-files/pull', { ref });
      expect(refused.status, ref).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'invalid_value', param: 'ref' });
    }
    expect((await api('POST', '/v1/model-files/pull', {})).body.error.param).toBe('ref');
    expect((await api('GET', '/v1/model-files/pulls/pull_nope')).status).toBe(404);
  });

  test('delete: 409 while a deployment or the configuration uses a file, 404 when absent, 200 when done', async () => {
    const deployed = await api('POST', '/v1/deployments', { model: 'hf:owner/repo/pulled.gguf', name: 'pulled', context_size: 256, slots: 1 });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    const listed = await api('GET', '/v1/model-files');
    expect(listed.body.data[1]).toMatchObject({ ref: 'hf:owner/repo/pulled.gguf', in_use_by: ['deployment pulled'] });
    const inUse = await api('DELETE', `/v1/model-files/${encodeURIComponent('hf:owner/repo/pulled.gguf')}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error).toMatchObject({ code: 'conflict', param: 'ref', message: expect.stringContaining('deployment pulled') });
    const configured = await api('DELETE', '/v1/model-files/hf:owner/repo/configured.gguf');
    expect(configured.status).toBe(409);
    expect(configured.body.error.message).toContain('configured model configured');
    expect((await api('DELETE', '/v1/deployments/pulled')).status).toBe(200);
    const deleted = await api('DELETE', `/v1/model-files/${encodeURIComponent('hf:owner/repo/pulled.gguf')}`);
    expect(deleted).toEqual({ status: 200, body: { object: 'model_file', ref: 'hf:owner/repo/pulled.gguf', deleted: true } });
    expect((await api('DELETE', '/v1/model-files/hf:owner/repo/pulled.gguf')).status).toBe(404);
    expect((await api('DELETE', '/v1/model-files/hf:owner')).body.error).toMatchObject({ code: 'invalid_value', param: 'ref' });
    expect((await api('GET', '/v1/model-files')).body.data.map((file: { ref: string }) => file.ref)).toEqual(['hf:owner/repo/configured.gguf']);
  });

  test('a key without admin scope gets 403 on every model-file route; no key, 401', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/model-files'],
      ['POST', '/v1/model-files/pull', { ref: 'hf:owner/repo/pulled.gguf' }],
      ['GET', '/v1/model-files/pulls'],
      ['GET', '/v1/model-files/pulls/pull_x'],
      ['DELETE', '/v1/model-files/hf:owner/repo/configured.gguf'],
    ] as const) {
      const refused = await api(method, path, body, user);
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.body.error.code).toBe('permission_denied');
      expect((await api(method, path, body, '')).status).toBe(401);
    }
  });
});
