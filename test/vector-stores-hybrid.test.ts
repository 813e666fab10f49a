/**
 * Hybrid search, mechanically (stories260K's embeddings carry no meaning): with
 * `knowledge.embeddingModel` set, ingest and queries are embedded on the accounting path (ledger
 * rows of kind `embedding`), both legs run, and `hybrid_search` weights decide which leg leads.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import OpenAI, { toFile } from 'openai';
import { afterAll, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess, waitReady } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

test.skipIf(skip)(
  'both legs run, are billed, and the weights decide the order',
  async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'nimbus-hybrid-')), 'nimbus.json');
    writeFileSync(
      config,
      JSON.stringify({ models: [{ source: storiesPath, id: 'stories', contextSize: 256, slots: 1 }], knowledge: { embeddingModel: 'stories' } }),
    );
    const server = await startNimbusProcess(['--config', config]);
    await waitReady(server.url);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const store = await client.vectorStores.create({ name: 'hybrid' });
    const texts = ['The cat sat on the mat.', 'A dog ran in the park.', 'Lily found a red ball.', 'The sun was warm and bright.'];
    const files = [];
    for (const [index, text] of texts.entries())
      files.push(await client.files.create({ file: await toFile(Buffer.from(text), `${index}.txt`), purpose: 'assistants' }));
    const batch = await client.vectorStores.fileBatches.createAndPoll(store.id, { file_ids: files.map((file) => file.id) }, { pollIntervalMs: 50 });
    expect(batch.file_counts).toMatchObject({ completed: 4, failed: 0 });

    type Options = { embedding_weight: number; text_weight: number };
    const search = async (query: string, weights: Options) =>
      (await client.vectorStores.search(store.id, { query, max_num_results: 4, ranking_options: { hybrid_search: weights } as never })).data.map(
        (hit) => hit.filename,
      );
    // No word of this query is in any file: only the vector leg can answer.
    expect(await search('zebra quantum', { embedding_weight: 1, text_weight: 0 })).toHaveLength(4);
    expect(await search('zebra quantum', { embedding_weight: 0, text_weight: 1 })).toEqual([]);
    const lexical = await search('red ball', { embedding_weight: 0, text_weight: 1 });
    const vector = await search('red ball', { embedding_weight: 1, text_weight: 0 });
    expect(lexical[0]).toBe('2.txt');
    expect((await search('red ball', { embedding_weight: 0.01, text_weight: 1 }))[0]).toBe(lexical[0]);
    expect((await search('red ball', { embedding_weight: 1, text_weight: 0.01 }))[0]).toBe(vector[0]);

    // Ingest (one call per batch of chunks) and each query with an embedding leg are billed embedding calls.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const database = new SQLite(join(server.home, 'nimbus.db'), { readonly: true });
    const rows = database.prepare("select count(*) from request_log where kind = 'embedding' and status = 'ok' and model = 'stories'").pluck().get() as number;
    database.close();
    expect(rows).toBeGreaterThanOrEqual(4 + 4);
    await server.stop();
  },
  120_000,
);
