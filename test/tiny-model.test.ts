/**
 * The engine path on a model this repo writes itself (a random-weight tiny Llama), so the
 * serving stack is tested on a machine without ../shared too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('serving the repo-made tiny GGUF', () => {
  let server: TestServer;
  let folder: string;
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'nimbus-tiny-'));
    const path = join(folder, 'tiny.gguf');
    await writeTinyLlamaGguf(path, { contextLength: 1024 });
    server = await startTestServer({ models: [{ id: 'tiny', source: path, contextSize: 1024, slots: 2, threads: 1 }] });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  test('/readyz is ready and /v1/models lists it', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await server.client.models.list()).data.map((model) => model.id)).toEqual(['tiny']);
  });

  test('text completion, streamed and not, agree at temperature 0', async () => {
    const whole = await server.client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 12, temperature: 0 });
    expect(whole.usage!.completion_tokens).toBe(12);
    const stream = await server.client.completions.create({ model: 'tiny', prompt: 'the cat', max_tokens: 12, temperature: 0, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(whole.choices[0]!.text);
  });

  test('chat and a forced tool call', async () => {
    const answer = await server.client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 40,
      temperature: 0,
      tools: [
        {
          type: 'function',
          function: { name: 'ping', parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 3 } }, required: ['n'] } },
        },
      ],
      tool_choice: 'required',
    });
    const call = answer.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('ping');
    if (call?.type === 'function') expect([1, 2, 3]).toContain(JSON.parse(call.function.arguments).n);
  });

  test('embeddings have the model dimension', async () => {
    const result = await server.client.embeddings.create({ model: 'tiny', input: ['the', 'a cat'], encoding_format: 'float' });
    expect(result.data.map((entry) => entry.embedding.length)).toEqual([64, 64]);
  });
});
