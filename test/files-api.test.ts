/**
 * The Files API through the official `openai` client against a real `nimbus serve` process, on
 * SQLite and on PostgreSQL: upload (multipart, streamed to disk by sha256), list, retrieve,
 * content, delete; purposes and expires_after; the size limit and the tenant's quota (413);
 * another tenant's file is 404.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callJson } from './support/json-api.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';

const noPostgres = await skipWithoutPostgres();
afterAll(killNimbusProcesses);

/** A config file with small limits, so the 413s are cheap to reach. */
function configFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nimbus-files-')), 'nimbus.json');
  writeFileSync(path, JSON.stringify({ knowledge: { maxFileBytes: 64 * 1024, tenantStorageBytes: 100 * 1024 } }));
  return path;
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('Files API on %s', (_name, postgres) => {
  let server: NimbusProcess;
  let drop: (() => Promise<void>) | undefined;
  let alice: OpenAI;
  let bob: OpenAI;

  beforeAll(async () => {
    if (postgres && noPostgres) return;
    const environment: Record<string, string> = {};
    if (postgres) {
      const database = await createTestDatabase();
      environment.NIMBUS_DATABASE_URL = database.url;
      drop = database.drop;
    }
    server = await startNimbusProcess(['--config', configFile()], environment);
    // Local mode mints the operator's key; it makes one tenant each for alice and bob.
    const operator = await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } });
    expect(operator.status).toBe(201);
    const keys: string[] = [];
    for (const tenant of ['alice', 'bob']) {
      expect((await callJson(server.url, 'POST', '/v1/tenants', { id: tenant }, operator.body.key)).status).toBe(201);
      const created = await callJson(server.url, 'POST', '/v1/keys', { tenant, name: tenant }, operator.body.key);
      expect(created.status).toBe(201);
      keys.push(created.body.key as string);
    }
    alice = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: keys[0]!, maxRetries: 0 });
    bob = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: keys[1]!, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await drop?.();
  });

  test.skipIf(postgres && noPostgres)('upload, list, retrieve, content and delete, with bytes on disk by sha256', async () => {
    const text = '# Notes\n\nNimbus keeps files under its home.\n';
    const uploaded = await alice.files.create({ file: await toFile(Buffer.from(text), 'notes.md'), purpose: 'assistants' });
    expect(uploaded).toMatchObject({ object: 'file', bytes: text.length, filename: 'notes.md', purpose: 'assistants', status: 'processed', expires_at: null });
    expect(uploaded.id).toMatch(/^file-/);
    const sha256 = createHash('sha256').update(text).digest('hex');
    expect(existsSync(join(server.home, 'files', sha256.slice(0, 2), sha256))).toBe(true);

    expect(await alice.files.retrieve(uploaded.id)).toEqual(uploaded);
    expect(await (await alice.files.content(uploaded.id)).text()).toBe(text);
    const listed = [];
    for await (const file of alice.files.list()) listed.push(file.id);
    expect(listed).toContain(uploaded.id);

    expect(await alice.files.delete(uploaded.id)).toEqual({ id: uploaded.id, object: 'file', deleted: true });
    await expect(alice.files.retrieve(uploaded.id)).rejects.toMatchObject({ status: 404 });
    expect(existsSync(join(server.home, 'files', sha256.slice(0, 2), sha256))).toBe(false);
  });

  test.skipIf(postgres && noPostgres)('another tenant’s file is 404 for every route, and not in its list', async () => {
    const file = await alice.files.create({ file: await toFile(Buffer.from('secret'), 'secret.txt'), purpose: 'user_data' });
    await expect(bob.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.files.content(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.files.delete(file.id)).rejects.toMatchObject({ status: 404 });
    const bobs = [];
    for await (const listed of bob.files.list()) bobs.push(listed.id);
    expect(bobs).not.toContain(file.id);
    expect((await alice.files.retrieve(file.id)).id).toBe(file.id);
    await alice.files.delete(file.id);
  });

  test.skipIf(postgres && noPostgres)('expires_after sets expires_at; a batch file expires in 30 days; purposes are checked', async () => {
    const expiring = await alice.files.create({
      file: await toFile(Buffer.from('soon'), 'soon.txt'),
      purpose: 'user_data',
      expires_after: { anchor: 'created_at', seconds: 3600 },
    });
    expect(expiring.expires_at).toBe(expiring.created_at + 3600);
    const batch = await alice.files.create({ file: await toFile(Buffer.from('{}\n'), 'batch.jsonl'), purpose: 'batch' });
    expect(batch.expires_at).toBe(batch.created_at + 30 * 86_400);
    const batches = [];
    for await (const file of alice.files.list({ purpose: 'batch' })) batches.push(file.id);
    expect(batches).toEqual([batch.id]);
    await expect(alice.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'batch_output' as 'batch' })).rejects.toMatchObject({
      status: 400,
      param: 'purpose',
    });
    await expect(
      alice.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'user_data', expires_after: { anchor: 'created_at', seconds: 60 } }),
    ).rejects.toMatchObject({ status: 400 });
    await alice.files.delete(expiring.id);
    await alice.files.delete(batch.id);
  });

  test.skipIf(postgres && noPostgres)('a file over the size limit is 413 and leaves nothing; the tenant quota is 413 too', async () => {
    await expect(alice.files.create({ file: await toFile(Buffer.alloc(64 * 1024 + 1, 1), 'big.bin'), purpose: 'user_data' })).rejects.toMatchObject({
      status: 413,
      code: 'request_too_large',
    });
    expect(await alice.files.list()).toMatchObject({ data: [] });
    const first = await alice.files.create({ file: await toFile(Buffer.alloc(60 * 1024, 2), 'a.bin'), purpose: 'user_data' });
    await expect(alice.files.create({ file: await toFile(Buffer.alloc(60 * 1024, 3), 'b.bin'), purpose: 'user_data' })).rejects.toMatchObject({
      status: 413,
      code: 'storage_quota_exceeded',
    });
    // Another tenant's quota is its own.
    const bobs = await bob.files.create({ file: await toFile(Buffer.alloc(60 * 1024, 3), 'b.bin'), purpose: 'user_data' });
    await alice.files.delete(first.id);
    await bob.files.delete(bobs.id);
  });
});
