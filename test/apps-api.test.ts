/**
 * Apps (issue 23, items 1-4 and 6) against a real server running stories260K, with the official
 * `openai` client: create, list, retrieve, versions, publish, rollback, delete; bad configs
 * refused naming the field; calls as `model: "app:NAME"` on /v1/responses and
 * /v1/chat/completions and on POST /v1/apps/NAME/responses, the app's config applied; the ledger
 * rows carry app and version, a continuation after a publish runs the live version; /v1/models
 * lists apps; a vector store an app uses cannot be deleted; app keys; end-user memory.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callJson } from './support/json-api.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('apps over the llama engine (stories260K)', () => {
  let server: TestServer;
  let operator: string;
  let client: OpenAI;
  let storeId: string;
  const api = (method: string, path: string, body?: unknown, key = operator) => callJson(server.url, method, path, body, key);
  const ledger = async (id: string) => {
    await server.nimbus.store.flush();
    return (await server.nimbus.store.listRequests({ limit: 1000 })).filter((row) => row.id === id || row.parentId === id);
  };
  const helper = {
    name: 'helper',
    description: 'Tells short stories.',
    model: 'stories',
    instructions: 'You tell short stories.',
    temperature: 0,
    max_output_tokens: 12,
  };
  const move = { type: 'function', name: 'move', description: 'Moves the character.', parameters: { type: 'object', properties: { to: { type: 'string' } } } };

  beforeAll(async () => {
    server = await startTestServer();
    operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key;
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: operator, maxRetries: 0 });
    storeId = (await api('POST', '/v1/vector_stores', { name: 'manual' })).body.id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('an app is created with version 1 live; GET shows its function tools; a name is taken once', async () => {
    const created = await api('POST', '/v1/apps', helper);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'app', name: 'helper', model: 'app:helper', live_version: 1, latest_version: 1, tools: [] });
    expect((await api('GET', '/v1/apps/helper')).body).toEqual(created.body);
    expect((await api('POST', '/v1/apps', { name: 'game', model: 'stories', tools: [move] })).status).toBe(201);
    expect((await api('GET', '/v1/apps/game')).body).toMatchObject({ tools: [move], config: { model: 'stories', tools: [move] } });
    expect((await api('GET', '/v1/apps')).body.data.map((found: { name: string }) => found.name)).toContain('helper');
    const again = await api('POST', '/v1/apps', helper);
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'conflict', param: 'name' } } });
    expect((await api('GET', '/v1/apps/nobody')).status).toBe(404);
  });

  test('a config naming a missing model, vector store or device is refused, naming the field', async () => {
    const refused = async (body: object) => (await api('POST', '/v1/apps', { ...helper, name: 'bad', ...body })).body.error;
    expect(await refused({ model: 'no-such-model' })).toMatchObject({ param: 'model', type: 'invalid_request_error' });
    expect(await refused({ model: ['stories', 'no-such-model'] })).toMatchObject({ param: 'model[1]' });
    expect(await refused({ vector_store_ids: [storeId, 'vs_missing'] })).toMatchObject({ param: 'vector_store_ids[1]' });
    expect(await refused({ devices: ['no-such-device'] })).toMatchObject({ param: 'devices[0]' });
    expect(await refused({ temprature: 1 })).toMatchObject({ message: expect.stringContaining('temprature') });
    expect((await api('GET', '/v1/apps/bad')).status).toBe(404);
  });

  test('model "app:NAME" on /v1/responses runs the app: its instructions and sampling apply; the ledger has app and version', async () => {
    const response = await client.responses.create({ model: 'app:helper', input: 'Once upon a time' });
    expect(response).toMatchObject({ model: 'app:helper', instructions: helper.instructions, temperature: 0, max_output_tokens: 12 });
    expect(['completed', 'incomplete']).toContain(response.status);
    expect((response as unknown as { app: unknown }).app).toEqual({ name: 'helper', version: 1 });
    const rows = await ledger(response.id);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatchObject({ appId: 'helper', appVersion: '1', requestedModel: 'app:helper', model: 'stories' });
    // The same through the app's own path; a field the app sets is refused, naming it.
    const direct = await api('POST', '/v1/apps/helper/responses', { input: 'A cat' });
    expect(direct.body).toMatchObject({ object: 'response', model: 'app:helper', app: { name: 'helper', version: 1 } });
    const overridden = await api('POST', '/v1/responses', { model: 'app:helper', input: 'x', instructions: 'Be rude.' });
    expect(overridden).toMatchObject({ status: 400, body: { error: { param: 'instructions' } } });
  });

  test('model "app:NAME" on /v1/chat/completions; apps are listed in /v1/models', async () => {
    const completion = await client.chat.completions.create({ model: 'app:helper', messages: [{ role: 'user', content: 'Once upon a time' }] });
    expect(completion.model).toBe('app:helper');
    const rows = await ledger(completion.id);
    expect(rows[0]).toMatchObject({ appId: 'helper', appVersion: '1', kind: 'chat' });
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(expect.arrayContaining(['stories', 'app:helper']));
    expect((await client.models.retrieve('app:helper')).id).toBe('app:helper');
  });

  test('a publish makes a new live version; a continuation after it runs the live version; rollback goes back', async () => {
    const first = await client.responses.create({ model: 'app:helper', input: 'Once upon a time' });
    const published = await api('POST', '/v1/apps/helper/versions', { ...helper, name: undefined, instructions: 'You tell very short stories.' });
    expect(published).toMatchObject({ status: 201, body: { object: 'app.version', version: 2, live: true } });
    const next = await client.responses.create({ model: 'app:helper', input: 'Then', previous_response_id: first.id });
    expect(next.instructions).toBe('You tell very short stories.');
    expect((next as unknown as { app: unknown }).app).toEqual({ name: 'helper', version: 2 });
    expect((await ledger(next.id))[0]).toMatchObject({ appVersion: '2' });
    expect((await api('POST', '/v1/apps/helper/rollback', { version: 1 })).body).toMatchObject({ live_version: 1, latest_version: 2 });
    expect((await api('POST', '/v1/apps/helper/rollback', { version: 7 })).body.error).toMatchObject({ param: 'version' });
    const versions = (await api('GET', '/v1/apps/helper/versions')).body.data;
    expect(versions.map((version: { version: number; live: boolean }) => [version.version, version.live])).toEqual([
      [1, true],
      [2, false],
    ]);
  });

  test('a vector store an app uses cannot be deleted (409, x-should-retry: false) until the app lets it go', async () => {
    expect((await api('POST', '/v1/apps', { name: 'manual', model: 'stories', vector_store_ids: [storeId], max_output_tokens: 8 })).status).toBe(201);
    const response = await fetch(`${server.url}/v1/vector_stores/${storeId}`, { method: 'DELETE', headers: { authorization: `Bearer ${operator}` } });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("'manual'");
    expect((await api('DELETE', '/v1/apps/manual')).body).toMatchObject({ deleted: true });
    expect((await api('DELETE', `/v1/vector_stores/${storeId}`)).status).toBe(200);
  });

  test('a key scoped to an app calls that app with the app’s models only; another app or a raw model is 403', async () => {
    await api('POST', '/v1/apps', { ...helper, name: 'other' });
    const key = (await api('POST', '/v1/keys', { name: 'kiosk', scopes: { apps: ['helper'], models: [] } })).body.key;
    const kiosk = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
    expect((await kiosk.responses.create({ model: 'app:helper', input: 'Once' })).error).toBeNull();
    expect((await api('POST', '/v1/apps/helper/responses', { input: 'Once' }, key)).status).toBe(200);
    for (const [path, body] of [
      ['/v1/responses', { model: 'app:other', input: 'Once' }],
      ['/v1/responses', { model: 'stories', input: 'Once' }],
      ['/v1/chat/completions', { model: 'stories', messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/chat/completions', { model: 'app:other', messages: [{ role: 'user', content: 'hi' }] }],
    ] as const) {
      const refused = await api('POST', path, body, key);
      expect(refused, `${path} ${body.model}`).toMatchObject({ status: 403, body: { error: { code: 'permission_denied', type: 'permission_error' } } });
    }
    expect((await kiosk.models.list()).data.map((model) => model.id)).toEqual(['app:helper']);
    // A key limited to models the app does not use may not call it: an app is no way around a model scope.
    const narrow = (await api('POST', '/v1/keys', { name: 'narrow', scopes: { models: ['other-model'] } })).body.key;
    expect((await api('POST', '/v1/responses', { model: 'app:helper', input: 'Once' }, narrow)).status).toBe(403);
  });

  test('memory per end user: updated after each response, injected into the instructions, readable and deletable', async () => {
    await api('POST', '/v1/apps', { name: 'pal', model: 'stories', instructions: 'Be a friend.', memory: true, temperature: 0, max_output_tokens: 8 });
    const first = await client.responses.create({ model: 'app:pal', input: 'My name is Ada.', user: 'ada' });
    const memory = (await api('GET', '/v1/apps/pal/memory/ada')).body;
    expect(memory).toMatchObject({ object: 'app.memory', app: 'pal', user: 'ada', turns: [{ user: 'My name is Ada.', assistant: first.output_text.trim() }] });
    const second = await client.responses.create({ model: 'app:pal', input: 'What is my name?', metadata: { user_id: 'ada' } });
    expect(second.instructions).toBe(`Be a friend.\n\n${memory.text}`);
    expect((await api('GET', '/v1/apps/pal/memory/ada')).body.turns).toHaveLength(2);
    // Another end user starts empty.
    expect((await client.responses.create({ model: 'app:pal', input: 'Hello', user: 'bob' })).instructions).toBe('Be a friend.');
    expect((await api('DELETE', '/v1/apps/pal/memory/ada')).body).toMatchObject({ deleted: true });
    expect((await api('GET', '/v1/apps/pal/memory/ada')).body.turns).toEqual([]);
  });

  test('/v1/usage groups by app and version; /metrics counts apps by app and version', async () => {
    await server.nimbus.store.flush();
    const usage = (await api('GET', `/v1/usage?group_by=app,app_version&start=${Math.floor(Date.now() / 1000) - 3600}`)).body.data;
    expect(usage).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ app: 'helper', app_version: '1', requests: expect.any(Number) }),
        expect.objectContaining({ app: 'helper', app_version: '2' }),
      ]),
    );
    // One app's calls only (the console's Apps page charts them by version).
    const helperOnly = (await api('GET', `/v1/usage?app=helper&group_by=app_version&start=${Math.floor(Date.now() / 1000) - 3600}`)).body.data;
    expect(helperOnly.map((row: { app_version: string }) => row.app_version).sort()).toEqual(['1', '2']);
    const nobody = (await api('GET', `/v1/usage?app=nobody&group_by=app_version&start=${Math.floor(Date.now() / 1000) - 3600}`)).body.data;
    expect(nobody).toEqual([]);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${operator}` } })).text();
    expect(metrics).toMatch(/nimbus_app_requests_total\{tenant="default",app="helper",version="2",model="stories",status="200"\} \d+/);
    expect(metrics).toMatch(/nimbus_app_tokens_total\{tenant="default",app="helper",version="1",model="stories",type="completion"\} \d+/);
  });

  test('an app’s own limits and budget are reserved with the key’s and the tenant’s: a rate refuses with 429 naming the app, a budget with insufficient_quota', async () => {
    const create = (name: string, limits: object) => api('POST', '/v1/apps', { name, model: 'stories', max_output_tokens: 4, limits });
    expect((await create('metered', { requests_per_minute: 2 })).status).toBe(201);
    expect((await create('frugal', { tokens_per_day: 5 })).status).toBe(201);
    const call = (name: string) => api('POST', `/v1/apps/${name}/responses`, { input: 'hi' });
    expect((await call('metered')).status).toBe(200);
    expect((await call('metered')).status).toBe(200);
    const third = await call('metered');
    expect(third).toMatchObject({ status: 429, body: { error: { code: 'rate_limit_exceeded' } } });
    expect(third.body.error.message).toContain("app 'metered'");
    // Another app is not held by it.
    expect((await call('helper')).status).toBe(200);
    const broke = await call('frugal');
    expect(broke).toMatchObject({ status: 429, body: { error: { code: 'insufficient_quota' } } });
    expect(broke.body.error.message).toContain("app 'frugal'");
  });

  test('the app templates are listed to admins with their knowledge files, one with the files’ text, as the CLI reads them', async () => {
    const listed = (await api('GET', '/v1/app_templates')).body.data as Array<{ name: string; knowledge: Array<{ filename: string; text?: string }> }>;
    expect(listed.map((template) => [template.name, template.knowledge.length])).toEqual([
      ['game-character', 0],
      ['in-car-assistant', 6],
      ['literature-assistant', 24],
      ['tutor', 5],
    ]);
    expect(listed[3]!.knowledge[0]).toEqual({ filename: 'lesson-1-averages.md', bytes: expect.any(Number) });
    const tutor = (await api('GET', '/v1/app_templates/tutor')).body;
    expect(tutor).toMatchObject({ name: 'tutor', config: { name: 'tutor', memory: true }, variants: [{ suffix: 'grading' }, { suffix: 'quiz' }] });
    expect(tutor.knowledge[0].text).toContain('average');
    expect(await api('GET', '/v1/app_templates/spaceship')).toMatchObject({
      status: 404,
      body: { error: { message: expect.stringContaining('there are game-character') } },
    });
    const reader = (await api('POST', '/v1/keys', { name: 'reader', scopes: { inference: true } })).body.key;
    expect((await api('GET', '/v1/app_templates', undefined, reader)).status).toBe(403);
  });

  test('a deleted app cannot be called', async () => {
    expect((await api('DELETE', '/v1/apps/other')).status).toBe(200);
    expect((await api('POST', '/v1/responses', { model: 'app:other', input: 'x' })).status).toBe(404);
    expect((await api('DELETE', '/v1/apps/other')).status).toBe(404);
  });
});
