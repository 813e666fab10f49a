/**
 * The offline first run, through real processes: `nimbus serve` with an empty home and no model,
 * its default model out of reach, answers a chat with a 503 that says what to do (no Retry-After:
 * waiting does not fix it); then the first model pulled while it runs, by `nimbus pull` in
 * another process or through the API (the console's pull form), is served without a restart, and
 * the official `openai` client gets its answer. A model pulled after that is not loaded.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { startModelHub, type ModelHub } from './support/model-hub.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { repoRoot, storiesPath } from './support/shared-model.js';

const cli = join(repoRoot, 'dist', 'cli', 'main.js');
let hub: ModelHub;
/** The model the hub serves: stories260K where ../shared has it, else the repo-written tiny model. */
let modelFile: string;
const model = storiesPath ? 'stories260K' : 'tiny';

beforeAll(async () => {
  hub = await startModelHub();
  if (storiesPath) modelFile = storiesPath;
  else {
    modelFile = join(mkdtempSync(join(tmpdir(), 'nimbus-first-run-')), 'tiny.gguf');
    await writeTinyLlamaGguf(modelFile);
  }
  // The default model is not on this hub: the server starts as it would offline.
  hub.add(`test/models/${model}.gguf`, { data: readFileSync(modelFile) });
  hub.add('test/models/second.gguf', { data: readFileSync(modelFile) });
});
afterAll(async () => hub?.close());
afterEach(killNimbusProcesses);

/** Polls `check` until it returns something other than undefined, or fails after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** /readyz's model fields: the server itself is ready (200) whatever its models do. */
async function readyz(url: string): Promise<{ status: string; models_ready: boolean; reason?: string }> {
  const response = await fetch(`${url}/readyz`);
  const body = (await response.json()) as { status: string; models_ready: boolean; models_reason?: string };
  expect(response.status).toBe(200);
  return { status: body.status, models_ready: body.models_ready, ...(body.models_reason ? { reason: body.models_reason } : {}) };
}

/** Starts a server with an empty home and no model; resolves once it knows the default model is out of reach. */
async function startWithoutModel(): Promise<NimbusProcess> {
  // One thread, as the rest of the suite: llama.cpp's threads spin, and on a busy 2-core machine
  // two spinning threads made 8 tokens take 30 s.
  const server = await startNimbusProcess(['--threads', '1', '--ctx', '512'], { NIMBUS_HF_ENDPOINT: hub.url });
  await until('the default model to fail', async () => ((await readyz(server.url)).reason?.includes('could not be fetched') ? true : undefined));
  return server;
}

/** `nimbus_http_errors_total` for code no_model. */
async function noModelErrors(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith('nimbus_http_errors_total') && row.includes('code="no_model"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function chatWorks(url: string): Promise<void> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'local', maxRetries: 0 });
  const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 8 });
  expect(completion.choices[0]!.message.role).toBe('assistant');
  expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
  expect(['length', 'stop']).toContain(completion.choices[0]!.finish_reason);
}

describe('first run without a model', () => {
  test('a 503 that says what to do; `nimbus pull` in another process makes it serve without a restart; a later pull loads nothing', async () => {
    const server = await startWithoutModel();
    // The banner says where the console is, what loads, and why devices are off.
    expect(server.output()).toMatch(/console: {2}http:\/\/127\.0\.0\.1:\d+\//);
    expect(server.output()).toContain('models:   loading the default model qwen2.5-0.5b-instruct-q4_k_m, as no model is configured');
    expect(server.output()).toContain("devices:  off: mqttUrl is 'off'");

    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(response.headers.get('x-should-retry')).toBe('false');
    const body = (await response.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error.code).toBe('no_model');
    expect(body.error.message).toContain('nimbus pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf');
    expect(body.error.message).toContain('served without a restart');

    // The official client, retries left at its default, asks once: the answer says not to retry.
    const before = await noModelErrors(server.url);
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'local' });
    await expect(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 503,
      code: 'no_model',
    });
    expect((await noModelErrors(server.url)) - before).toBe(1);

    const pull = spawn(process.execPath, [cli, 'pull', `hf:test/models/${model}.gguf`, '--home', server.home], {
      env: { ...process.env, NIMBUS_HF_ENDPOINT: hub.url },
    });
    let pullOutput = '';
    pull.stderr.on('data', (data: Buffer) => (pullOutput += data.toString()));
    expect(await new Promise((resolve) => pull.on('exit', resolve)), pullOutput).toBe(0);

    await until('the pulled model to be ready', async () => ((await readyz(server.url)).models_ready ? true : undefined));
    await chatWorks(server.url);
    expect(server.output()).toContain('first model pulled: serving it without a restart');

    // Loading stays explicit once a model serves: a second pull is only cached.
    const pulled = (await (
      await fetch(`${server.url}/v1/model-files/pull`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ref: 'hf:test/models/second.gguf' }),
      })
    ).json()) as { id: string };
    await until('the second pull', async () => {
      const job = (await (await fetch(`${server.url}/v1/model-files/pulls/${pulled.id}`)).json()) as { state: string };
      return job.state === 'done' ? true : undefined;
    });
    // Two of the cache's 1 s polls: a watch still running would have loaded it by then.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((entry) => entry.id)).toEqual([model]);
    await server.stop();
  }, 180_000);

  test('a pull through the API (the console) is served without a restart', async () => {
    const server = await startWithoutModel();
    const response = await fetch(`${server.url}/v1/model-files/pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ref: `hf:test/models/${model}.gguf` }),
    });
    expect(response.status).toBe(202);
    await until('the pulled model to be ready', async () => ((await readyz(server.url)).models_ready ? true : undefined));
    await chatWorks(server.url);
    await server.stop();
  }, 180_000);
});
