/**
 * Vector stores through the official `openai` client against a real `nimbus serve` process, on
 * SQLite and PostgreSQL: files in, ingest to completed (or failed with the reason), search with
 * BM25 (normalised scores, filters, max_num_results, score_threshold), deleting a file cascades,
 * another tenant's store and files are 404.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callJson } from './support/json-api.js';
import { makePdf } from './support/make-pdf.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';

const noPostgres = await skipWithoutPostgres();
afterAll(killNimbusProcesses);

const documents = [
  { name: 'whales.md', text: '# Whales\n\nBlue whales are the largest animals ever known; they feed on krill in cold oceans.', year: 2020, kind: 'animal' },
  {
    name: 'volcano.html',
    text: '<html><body><h1>Volcanoes</h1><p>Magma rises through the crust and erupts as lava.</p><script>var krill = 1;</script></body></html>',
    year: 2018,
    kind: 'geology',
  },
  { name: 'krill.txt', text: 'Antarctic krill are small crustaceans; whales, seals and penguins eat krill.', year: 2021, kind: 'animal' },
];

/** Two tenants' clients on one server; the operator's key made them. */
export async function tenantClients(server: NimbusProcess): Promise<[OpenAI, OpenAI]> {
  const operator = await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } });
  const clients: OpenAI[] = [];
  for (const tenant of ['alice', 'bob']) {
    expect((await callJson(server.url, 'POST', '/v1/tenants', { id: tenant }, operator.body.key)).status).toBe(201);
    const created = await callJson(server.url, 'POST', '/v1/keys', { tenant, name: tenant }, operator.body.key);
    clients.push(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: created.body.key as string, maxRetries: 0 }));
  }
  return clients as [OpenAI, OpenAI];
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('vector stores on %s', (_name, postgres) => {
  let server: NimbusProcess;
  let drop: (() => Promise<void>) | undefined;
  let alice: OpenAI;
  let bob: OpenAI;
  const skip = postgres && noPostgres;

  beforeAll(async () => {
    if (skip) return;
    const environment: Record<string, string> = {};
    if (postgres) {
      const database = await createTestDatabase();
      environment.NIMBUS_DATABASE_URL = database.url;
      drop = database.drop;
    }
    server = await startNimbusProcess([], environment);
    [alice, bob] = await tenantClients(server);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await drop?.();
  });

  test.skipIf(skip)('files go in by batch with attributes, complete, and are found by BM25 with normalised scores and filters', async () => {
    const store = await alice.vectorStores.create({ name: 'nature' });
    expect(store).toMatchObject({ object: 'vector_store', name: 'nature', status: 'completed', file_counts: { total: 0 } });
    const uploaded = [];
    for (const document of documents)
      uploaded.push(await alice.files.create({ file: await toFile(Buffer.from(document.text), document.name), purpose: 'assistants' }));
    const batch = await alice.vectorStores.fileBatches.createAndPoll(
      store.id,
      { files: uploaded.map((file, index) => ({ file_id: file.id, attributes: { year: documents[index]!.year, kind: documents[index]!.kind } })) },
      { pollIntervalMs: 50 },
    );
    expect(batch).toMatchObject({ status: 'completed', file_counts: { completed: 3, total: 3, failed: 0, in_progress: 0 } });
    const retrieved = await alice.vectorStores.retrieve(store.id);
    expect(retrieved.file_counts.completed).toBe(3);
    expect(retrieved.usage_bytes).toBeGreaterThan(0);

    const results = (await alice.vectorStores.search(store.id, { query: 'blue whales' })).data;
    expect(results.map((hit) => hit.filename)).toEqual(['whales.md', 'krill.txt']);
    for (const hit of results) {
      expect(hit.score).toBeGreaterThan(0);
      expect(hit.score).toBeLessThan(1);
    }
    expect(results[0]!.attributes).toEqual({ year: 2020, kind: 'animal' });
    expect(results[0]!.content[0]!.text).toContain('Blue whales');
    // HTML is indexed as its visible text: the script's word is not.
    expect((await alice.vectorStores.search(store.id, { query: 'lava magma' })).data.map((hit) => hit.filename)).toEqual(['volcano.html']);
    expect((await alice.vectorStores.search(store.id, { query: 'krill' })).data.map((hit) => hit.filename).sort()).toEqual(['krill.txt', 'whales.md']);

    const filtered = await alice.vectorStores.search(store.id, { query: 'krill whales', filters: { type: 'gt', key: 'year', value: 2020 } });
    expect(filtered.data.map((hit) => hit.filename)).toEqual(['krill.txt']);
    const one = await alice.vectorStores.search(store.id, { query: 'krill whales', max_num_results: 1 });
    expect(one.data).toHaveLength(1);
    const strict = await alice.vectorStores.search(store.id, { query: 'krill whales', ranking_options: { score_threshold: 0.99 } });
    expect(strict.data).toEqual([]);

    // Deleting the file (from /v1/files) takes it out of the store.
    await alice.files.delete(uploaded[0]!.id);
    expect((await alice.vectorStores.search(store.id, { query: 'blue whales' })).data.map((hit) => hit.filename)).toEqual(['krill.txt']);
    await expect(alice.vectorStores.files.retrieve(uploaded[0]!.id, { vector_store_id: store.id })).rejects.toMatchObject({ status: 404 });
    expect((await alice.vectorStores.retrieve(store.id)).file_counts.total).toBe(2);
  });

  test.skipIf(skip)('an unsupported or broken file fails with its reason and leaves nothing indexed', async () => {
    const store = await alice.vectorStores.create({ name: 'bad' });
    const slides = await alice.files.create({ file: await toFile(Buffer.from('PK whales'), 'slides.pptx'), purpose: 'assistants' });
    const broken = await alice.files.create({ file: await toFile(Buffer.from([0x77, 0x68, 0xff, 0xfe]), 'broken.txt'), purpose: 'assistants' });
    // A real PDF about whales, cut off half way: PDF.js cannot read it, so none of its words may be found.
    const whole = makePdf([['Blue whales and humpback whales sing.'], ['Whales migrate to feed.']]);
    const cut = await alice.files.create({ file: await toFile(whole.subarray(0, whole.length - 120), 'cut.pdf'), purpose: 'assistants' });
    const first = await alice.vectorStores.files.createAndPoll(store.id, { file_id: slides.id }, { pollIntervalMs: 50 });
    expect(first).toMatchObject({ status: 'failed', last_error: { code: 'unsupported_file' } });
    const second = await alice.vectorStores.files.createAndPoll(store.id, { file_id: broken.id }, { pollIntervalMs: 50 });
    expect(second).toMatchObject({ status: 'failed', last_error: { code: 'invalid_file' } });
    expect(second.last_error!.message).toContain('UTF-8');
    const third = await alice.vectorStores.files.createAndPoll(store.id, { file_id: cut.id }, { pollIntervalMs: 50 });
    expect(third).toMatchObject({ status: 'failed', last_error: { code: 'invalid_file', message: expect.stringContaining('cut.pdf') as string } });
    expect((await alice.vectorStores.search(store.id, { query: 'whales' })).data).toEqual([]);
    const parts: string[] = [];
    for await (const part of alice.vectorStores.files.content(cut.id, { vector_store_id: store.id })) parts.push(part.text ?? '');
    expect(parts).toEqual([]);
    expect(await alice.vectorStores.retrieve(store.id)).toMatchObject({ status: 'completed', file_counts: { failed: 3, total: 3 } });
  });

  test.skipIf(skip)('a PDF is indexed page by page and found by its words', async () => {
    const store = await alice.vectorStores.create({ name: 'papers' });
    const pdf = makePdf([['Antarctic krill are small crustaceans.'], ['Volcanic lava cools into basalt.']]);
    const file = await alice.files.create({ file: await toFile(pdf, 'paper.pdf'), purpose: 'assistants' });
    expect(await alice.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 })).toMatchObject({ status: 'completed' });
    const hits = await alice.vectorStores.search(store.id, { query: 'basalt lava' });
    expect(hits.data.map((hit) => [hit.filename, hit.content[0]!.text])).toEqual([
      ['paper.pdf', 'Antarctic krill are small crustaceans.\n\nVolcanic lava cools into basalt.'],
    ]);
  });

  test.skipIf(skip)('another tenant’s store and files are 404, and its file cannot be added', async () => {
    const store = await alice.vectorStores.create({ name: 'private' });
    const file = await alice.files.create({ file: await toFile(Buffer.from('secret krill'), 'secret.txt'), purpose: 'assistants' });
    await alice.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 });
    await expect(bob.vectorStores.retrieve(store.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.vectorStores.search(store.id, { query: 'krill' })).rejects.toMatchObject({ status: 404 });
    await expect(bob.vectorStores.files.list(store.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.vectorStores.delete(store.id)).rejects.toMatchObject({ status: 404 });
    const own = await bob.vectorStores.create({ name: 'own' });
    await expect(bob.vectorStores.files.create(own.id, { file_id: file.id })).rejects.toMatchObject({ status: 404 });
    const listed = [];
    for await (const entry of bob.vectorStores.list()) listed.push(entry.id);
    expect(listed).toEqual([own.id]);
    expect(await alice.vectorStores.delete(store.id)).toMatchObject({ deleted: true });
    await expect(alice.vectorStores.retrieve(store.id)).rejects.toMatchObject({ status: 404 });
  });

  test.skipIf(skip)('static chunking is checked and kept; file content comes back as chunks', async () => {
    const store = await alice.vectorStores.create({ name: 'chunks' });
    const text = Array.from({ length: 600 }, (_, index) => `word${index}`).join(' ');
    const file = await alice.files.create({ file: await toFile(Buffer.from(text), 'long.txt'), purpose: 'assistants' });
    await expect(
      alice.vectorStores.files.create(store.id, {
        file_id: file.id,
        chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 60 } },
      }),
    ).rejects.toMatchObject({ status: 400 });
    const entry = await alice.vectorStores.files.createAndPoll(
      store.id,
      { file_id: file.id, chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 } } },
      { pollIntervalMs: 50 },
    );
    expect(entry).toMatchObject({
      status: 'completed',
      chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 0 } },
    });
    const pages = [];
    for await (const part of alice.vectorStores.files.content(file.id, { vector_store_id: store.id })) pages.push(part.text);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.join(' ')).toBe(text);
  });
});
