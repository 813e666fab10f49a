/**
 * Chunks are sized with the embedding model's tokenizer where one is configured: with stories260K
 * as `knowledge.embeddingModel` (a 512-token vocabulary, so English runs about 2 characters a token
 * where the estimate assumes 4), every chunk of a `static` strategy holds at most
 * `max_chunk_size_tokens` of stories260K's tokens, counted here by node-llama-cpp independently of
 * the server, and the estimate alone would have overrun the limit on the same text.
 */
import { getLlama, type Llama, type LlamaModel } from 'node-llama-cpp';
import { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chunkText } from '../src/knowledge/chunking.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
let server: TestServer;
let llama: Llama;
let model: LlamaModel;

const story = Array.from(
  { length: 40 },
  (_, index) =>
    `Once upon a time, in a quiet village number ${index}, a little girl named Lily found a shiny red ball beside the old oak tree, and she ran home to show her mother.`,
).join('\n');

beforeAll(async () => {
  if (skip) return;
  server = await startTestServer({ knowledge: { embeddingModel: 'stories' } });
  llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath: storiesPath! });
}, 120_000);
afterAll(async () => {
  await model?.dispose();
  await llama?.dispose();
  await server?.stop();
});

describe.skipIf(skip)('chunks counted with the embedding model tokenizer', () => {
  const tokens = (text: string): number => model.tokenize(text).length;

  test("every chunk holds at most max_chunk_size_tokens of the model's tokens; the estimate would not", async () => {
    const settings = { maxChunkSizeTokens: 100, chunkOverlapTokens: 30 };
    // The estimate (4 characters a token) on the same text makes chunks stories260K counts well over 100.
    const estimated = chunkText(story, settings).map((chunk) => tokens(chunk.text));
    expect(Math.max(...estimated)).toBeGreaterThan(150);

    const client = server.client;
    const store = await client.vectorStores.create({ name: 'tokens' });
    const file = await client.files.create({ file: await toFile(Buffer.from(story), 'lily.txt'), purpose: 'assistants' });
    const added = await client.vectorStores.files.createAndPoll(
      store.id,
      { file_id: file.id, chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 30 } } },
      { pollIntervalMs: 50 },
    );
    expect(added.status).toBe('completed');
    const content = await client.vectorStores.files.content(file.id, { vector_store_id: store.id });
    const counts = [];
    for await (const part of content) counts.push(tokens(part.text ?? ''));
    expect(counts.length).toBeGreaterThan(estimated.length);
    expect(Math.max(...counts)).toBeLessThanOrEqual(100);
    // Filled close to the limit, not cut short.
    expect(Math.min(...counts.slice(0, -1))).toBeGreaterThan(80);
  });

  test("with the default auto chunking (800 tokens), a file is cut to fit the model's 512-token context and indexes", async () => {
    const client = server.client;
    const store = await client.vectorStores.create({ name: 'auto' });
    const file = await client.files.create({ file: await toFile(Buffer.from(story), 'lily-auto.txt'), purpose: 'assistants' });
    // No chunking_strategy: OpenAI's auto, 800-token chunks, more than stories260K embeds at once.
    const added = await client.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 });
    expect(added.last_error?.message ?? null).toBeNull();
    expect(added.status).toBe('completed');
    const content = await client.vectorStores.files.content(file.id, { vector_store_id: store.id });
    const counts = [];
    for await (const part of content) counts.push(tokens(part.text ?? ''));
    expect(counts.length).toBeGreaterThan(1);
    expect(Math.max(...counts)).toBeLessThan(512);
    expect(Math.min(...counts.slice(0, -1))).toBeGreaterThan(400);
  });

  test("an embedding input at the context's edge: three tokens under it embeds, a full context is a 400, not a 500", async () => {
    const words = story.split(' ');
    const textOf = (count: number): string => {
      let text = '';
      for (const word of words) {
        const next = text === '' ? word : `${text} ${word}`;
        if (tokens(next) > count) break;
        text = next;
      }
      return text;
    };
    const fits = textOf(509);
    expect(tokens(fits)).toBeGreaterThanOrEqual(505);
    const ok = await server.client.embeddings.create({ model: 'stories', input: fits });
    expect(ok.data[0]!.embedding.length).toBeGreaterThan(0);

    const full = textOf(512);
    expect(tokens(full)).toBeGreaterThan(509);
    const refused = await fetch(`${server.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories', input: full }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('context_length_exceeded');
  });
});
