/**
 * Reranking by a served model (`ranking_options.rerank`, an extension), mechanically: stories260K's
 * embeddings carry no meaning, so the test checks that the best fused chunks are reordered by the
 * reranking model's cosine between query and chunk (computed here again through /v1/embeddings),
 * that the scores become (1 + cosine) / 2 and `score_threshold` applies to them, and that the
 * reranking is a billed embedding call on the ledger. No embedding model is configured: the
 * search itself is BM25, the reranker any served model.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callJson, type JsonAnswer } from './support/json-api.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
let server: TestServer;
let storeId = '';

const texts = [
  'The red ball rolled under the bed.',
  'Lily had a red ball and a blue kite.',
  'A big red ball was in the park, and the dog ran to it.',
  'Tom said the ball was red, and he laughed.',
  'Mom gave Ben a red ball for his birthday.',
  'The cat looked at the red ball for a long time.',
];
const query = 'red ball';

/** Ledger rows of kind embedding for stories that were served. */
function embeddingRows(): number {
  const database = new SQLite(join(server.home, 'nimbus.db'), { readonly: true });
  try {
    return database.prepare("select count(*) from request_log where kind = 'embedding' and status = 'ok' and model = 'stories'").pluck().get() as number;
  } finally {
    database.close();
  }
}

type Hit = { filename: string; score: number; content: Array<{ text: string }> };

const search = async (
  rankingOptions: object,
): Promise<{ status: number; hits: Array<{ filename: string; score: number; text: string }>; body: JsonAnswer['body'] }> => {
  const answer = await callJson(server.url, 'POST', `/v1/vector_stores/${storeId}/search`, { query, max_num_results: 10, ranking_options: rankingOptions });
  const hits = ((answer.body.data ?? []) as Hit[]).map((hit) => ({ filename: hit.filename, score: hit.score, text: hit.content[0]?.text ?? '' }));
  return { status: answer.status, hits, body: answer.body };
};

beforeAll(async () => {
  if (skip) return;
  server = await startTestServer();
  const store = await server.client.vectorStores.create({ name: 'rerank' });
  storeId = store.id;
  const files = [];
  for (const [index, text] of texts.entries())
    files.push(await server.client.files.create({ file: await toFile(Buffer.from(text), `${index}.txt`), purpose: 'assistants' }));
  const batch = await server.client.vectorStores.fileBatches.createAndPoll(storeId, { file_ids: files.map((file) => file.id) }, { pollIntervalMs: 50 });
  expect(batch.file_counts.completed).toBe(texts.length);
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe.skipIf(skip)('reranking by a served model', () => {
  test("orders the fused chunks by the reranking model's cosine, scores (1 + cosine) / 2, billed on the ledger", async () => {
    const lexical = await search({});
    expect(lexical.hits).toHaveLength(texts.length);
    const before = embeddingRows();
    const reranked = await search({ rerank: { model: 'stories', top_n: 20 } });
    expect(reranked.status).toBe(200);
    // One embedding call (the query and the six chunks in one batch), on the accounting path.
    await expect.poll(embeddingRows, { timeout: 5_000 }).toBe(before + 1);

    // The same cosines computed again from /v1/embeddings: the order and the scores follow them.
    const embedded = await server.client.embeddings.create({ model: 'stories', input: [query, ...texts] });
    const vectors = embedded.data.map((item) => item.embedding);
    const norm = (vector: number[]): number => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
    const cosine = (left: number[], right: number[]): number => left.reduce((sum, value, index) => sum + value * right[index]!, 0) / (norm(left) * norm(right));
    const expected = texts
      .map((text, index) => ({ filename: `${index}.txt`, score: (1 + cosine(vectors[0]!, vectors[index + 1]!)) / 2 }))
      .sort((left, right) => right.score - left.score);
    expect(reranked.hits.map((hit) => hit.filename)).toEqual(expected.map((hit) => hit.filename));
    reranked.hits.forEach((hit, index) => expect(hit.score).toBeCloseTo(expected[index]!.score, 4));
    // The reranker changed the order BM25 gave (stories260K's cosines have nothing to do with BM25).
    expect(reranked.hits.map((hit) => hit.filename)).not.toEqual(lexical.hits.map((hit) => hit.filename));

    // top_n is how many of the best fused chunks are rescored, and so the most that come back; the threshold applies to the reranker's scores.
    const top = await search({ rerank: { model: 'stories', top_n: 2 } });
    const firstTwo = lexical.hits.slice(0, 2).map((hit) => hit.filename);
    expect(top.hits.map((hit) => hit.filename)).toEqual(expected.map((hit) => hit.filename).filter((name) => firstTwo.includes(name)));
    // Between the third and fourth scores (the server's vectors are float32: not on a score itself).
    const middle = (expected[2]!.score + expected[3]!.score) / 2;
    const above = await search({ score_threshold: middle, rerank: { model: 'stories', top_n: 20 } });
    expect(above.hits.map((hit) => hit.filename)).toEqual(expected.slice(0, 3).map((hit) => hit.filename));
  });

  test('an unknown reranking model is a 404 naming it; a bad top_n is a 400', async () => {
    const unknown = await search({ rerank: { model: 'nope', top_n: 5 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("'nope'");
    const bad = await search({ rerank: { model: 'stories', top_n: 0 } });
    expect(bad.status).toBe(400);
  });
});
