/**
 * The Batch API through the official `openai` client against a real `nimbus serve` process running
 * stories260K, on SQLite and on PostgreSQL: a batch of chat lines (function tools return their
 * calls; a bad body and an MCP tool are error lines) runs to `completed` with each custom_id once,
 * request counts and usage; every line is one ledger row marked with the batch, priced at the
 * batch discount, and outside the key's RPM; a broken file fails validation with line numbers;
 * a budget turns later lines into insufficient_quota error lines; cancel keeps partial results;
 * completions and embeddings batches; another tenant's batch is 404.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { costNanoUsd } from '../src/tenancy/price-table.js';
import { batchLedger, chatLine, createBatch, ended, fileLines, storiesModel, waitForBatch } from './support/batch-rig.js';
import { callJson } from './support/json-api.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const noModel = skipWithoutSharedModel();
const noPostgres = await skipWithoutPostgres();
afterAll(killNimbusProcesses);

const prices = { models: { [storiesModel]: { input: 1, output: 2 } }, computePerHour: {} };

function configFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nimbus-batches-')), 'nimbus.json');
  writeFileSync(path, JSON.stringify({ prices: prices.models, batches: { linesInFlight: 4 } }));
  return path;
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
])('Batch API on %s', (_name, postgres) => {
  const skip = noModel || (postgres && noPostgres);
  let server: NimbusProcess;
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  let operator: string;
  let alice: OpenAI;
  let bob: OpenAI;

  async function key(tenant: string, limits: Record<string, number> = {}): Promise<string> {
    const created = await callJson(server.url, 'POST', '/v1/keys', { tenant, name: `${tenant}-${Object.keys(limits).join('-')}`, limits }, operator);
    expect(created.status).toBe(201);
    return created.body.key as string;
  }

  const clientOf = (apiKey: string): OpenAI => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });

  beforeAll(async () => {
    if (skip) return;
    const environment: Record<string, string> = {};
    if (postgres) {
      const database = await createTestDatabase();
      environment.NIMBUS_DATABASE_URL = databaseUrl = database.url;
      drop = database.drop;
    }
    server = await startNimbusProcess(['--config', configFile(), '--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2'], environment);
    await waitReady(server.url);
    operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key;
    for (const tenant of ['alice', 'bob']) expect((await callJson(server.url, 'POST', '/v1/tenants', { id: tenant }, operator)).status).toBe(201);
    // One request a minute: batch lines are outside RPM, so a whole batch still runs.
    alice = clientOf(await key('alice', { requests_per_minute: 1 }));
    bob = clientOf(await key('bob'));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await drop?.();
  });

  test.skipIf(skip)(
    'a chat batch completes: each custom_id once, function tools return calls, bad lines are error lines, billed at the discount',
    async () => {
      const tool = {
        type: 'function',
        function: { name: 'save', parameters: { type: 'object', properties: { word: { type: 'string', enum: ['cat', 'dog'] } }, required: ['word'] } },
      };
      const lines = [
        ...Array.from({ length: 5 }, (_, index) => chatLine(`story-${index}`)),
        chatLine('two-choices', { n: 2 }),
        chatLine('mcp', { tools: [{ type: 'mcp', server_label: 'x', server_url: 'http://127.0.0.1:9' }] }),
        chatLine('tool', { tools: [tool], tool_choice: { type: 'function', function: { name: 'save' } }, max_tokens: 100, temperature: 0 }),
      ];
      const created = await createBatch(alice, lines);
      expect(created).toMatchObject({
        object: 'batch',
        status: 'validating',
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { test: 'yes' },
      });
      const batch = await waitForBatch(alice, created.id, ended);
      expect(batch.status).toBe('completed');
      expect(batch.request_counts).toEqual({ total: 8, completed: 6, failed: 2 });
      for (const time of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(batch[time]).toBeGreaterThanOrEqual(batch.created_at);

      const output = await fileLines(alice, batch.output_file_id);
      const errors = await fileLines(alice, batch.error_file_id);
      expect(output.map((line) => line.custom_id).sort()).toEqual(['story-0', 'story-1', 'story-2', 'story-3', 'story-4', 'tool']);
      for (const line of output) {
        expect(line.error).toBeNull();
        expect(line.response).toMatchObject({ status_code: 200, request_id: line.id, body: { object: 'chat.completion', model: storiesModel } });
      }
      const called = output.find((line) => line.custom_id === 'tool')!.response!.body.choices[0].message;
      expect(called.tool_calls[0].function.name).toBe('save');
      expect(JSON.parse(called.tool_calls[0].function.arguments)).toHaveProperty('word');
      expect(Object.fromEntries(errors.map((line) => [line.custom_id, [line.response?.status_code, line.response?.body.error.param]]))).toEqual({
        'two-choices': [400, 'n'],
        mcp: [400, 'tools[0].type'],
      });
      const outputFile = await alice.files.retrieve(batch.output_file_id!);
      expect(outputFile.purpose).toBe('batch_output');

      // Usage is the answered lines' usage summed; the ledger has one row per answered line, at half price.
      const answered = output.map((line) => line.response!.body.usage);
      expect(batch.usage).toMatchObject({
        input_tokens: answered.reduce((sum, usage) => sum + usage.prompt_tokens, 0),
        output_tokens: answered.reduce((sum, usage) => sum + usage.completion_tokens, 0),
      });
      const rows = await waitForRows(6);
      expect(rows.map((row) => row.id).sort()).toEqual(output.map((line) => line.id).sort());
      for (const row of rows) {
        expect(row).toMatchObject({ status: 'ok', kind: 'chat', batch_id: batch.id });
        const tokens = { promptTokens: row.prompt_tokens, cachedTokens: row.cached_tokens, completionTokens: row.completion_tokens };
        expect(row.cost_nano_usd).toBe(costNanoUsd(prices, storiesModel, tokens, undefined, 0.5));
        expect(row.cost_nano_usd).toBeLessThan(costNanoUsd(prices, storiesModel, tokens));
      }

      async function waitForRows(count: number) {
        for (let attempt = 0; attempt < 100; attempt += 1) {
          const found = await batchLedger(server.home, databaseUrl, batch.id);
          if (found.length >= count) return found;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error('the ledger never held the batch rows');
      }
    },
    180_000,
  );

  test.skipIf(skip)('a broken input file fails validation with every problem and its line number', async () => {
    const text = [JSON.stringify(chatLine('a')), '{oops', JSON.stringify(chatLine('a')), JSON.stringify({ ...chatLine('c'), url: '/v1/embeddings' })].join(
      '\n',
    );
    const created = await createBatch(alice, text);
    const batch = await waitForBatch(alice, created.id, ended);
    expect(batch.status).toBe('failed');
    expect(batch.failed_at).toBeGreaterThan(0);
    expect(batch.errors?.data?.map((error) => [error.line, error.code, error.param])).toEqual([
      [2, 'invalid_json_line', null],
      [3, 'duplicate_custom_id', 'custom_id'],
      [4, 'invalid_url', 'url'],
    ]);
  });

  test.skipIf(skip)('bad requests to create are OpenAI errors; another tenant’s batch is 404; list pages newest first', async () => {
    const notBatch = await alice.files.create({ file: new File(['{}'], 'x.jsonl'), purpose: 'user_data' });
    await expect(alice.batches.create({ input_file_id: notBatch.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toMatchObject({
      status: 400,
      param: 'input_file_id',
    });
    await expect(alice.batches.create({ input_file_id: 'file-none', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toMatchObject({
      status: 404,
    });
    const wrongEndpoint = await callJson(
      server.url,
      'POST',
      '/v1/batches',
      { input_file_id: notBatch.id, endpoint: '/v1/moderations', completion_window: '24h' },
      operator,
    );
    expect(wrongEndpoint).toMatchObject({ status: 400, body: { error: { param: 'endpoint' } } });
    const first = await createBatch(alice, [chatLine('x')]);
    const second = await createBatch(alice, [chatLine('y')]);
    await expect(bob.batches.retrieve(first.id)).rejects.toMatchObject({ status: 404 });
    await expect(bob.batches.cancel(first.id)).rejects.toMatchObject({ status: 404 });
    const page = await alice.batches.list({ limit: 1 });
    expect(page.data.map((batch) => batch.id)).toEqual([second.id]);
    expect(page.has_more).toBe(true);
    const next = await alice.batches.list({ limit: 1, after: second.id });
    expect(next.data.map((batch) => batch.id)).toEqual([first.id]);
    const done = await waitForBatch(alice, first.id, ended);
    await expect(alice.batches.cancel(done.id)).rejects.toMatchObject({ status: 409 });
    await waitForBatch(alice, second.id, ended);
  });

  test.skipIf(skip)('a day budget turns the lines past it into insufficient_quota error lines; the ledger stays within it', async () => {
    const budget = clientOf(await key('alice', { tokens_per_day: 400 }));
    const created = await createBatch(
      budget,
      Array.from({ length: 12 }, (_, index) => chatLine(`b-${index}`)),
    );
    const batch = await waitForBatch(budget, created.id, ended);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts!.completed).toBeGreaterThan(0);
    expect(batch.request_counts!.failed).toBeGreaterThan(0);
    expect(batch.request_counts!.completed + batch.request_counts!.failed).toBe(12);
    const errors = await fileLines(budget, batch.error_file_id);
    for (const line of errors) expect(line.response).toMatchObject({ status_code: 429, body: { error: { code: 'insufficient_quota' } } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rows = await batchLedger(server.home, databaseUrl, batch.id);
    const used = rows.reduce((sum, row) => sum + row.prompt_tokens + row.completion_tokens, 0);
    expect(used).toBeLessThanOrEqual(400);
    expect(rows.filter((row) => row.status === 'refused').every((row) => row.error_code === 'insufficient_quota')).toBe(true);
  });

  test.skipIf(skip)('cancel: a running batch goes cancelling, then cancelled, keeping what was answered, each custom_id at most once', async () => {
    const created = await createBatch(
      alice,
      Array.from({ length: 60 }, (_, index) => chatLine(`c-${index}`, { max_tokens: 48 })),
    );
    await waitForBatch(alice, created.id, (batch) => (batch.request_counts?.completed ?? 0) >= 2);
    const cancelling = await alice.batches.cancel(created.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const batch = await waitForBatch(alice, created.id, ended);
    expect(batch.status).toBe('cancelled');
    expect(batch.cancelled_at).toBeGreaterThan(0);
    const output = await fileLines(alice, batch.output_file_id);
    expect(output.length).toBe(batch.request_counts!.completed);
    expect(output.length).toBeLessThan(60);
    expect(new Set(output.map((line) => line.custom_id)).size).toBe(output.length);
  });

  test.skipIf(skip)('completions and embeddings batches answer in those endpoints’ shapes', async () => {
    const completions = await createBatch(
      alice,
      [0, 1].map((index) => ({
        custom_id: `t-${index}`,
        method: 'POST',
        url: '/v1/completions',
        body: { model: storiesModel, prompt: 'Once upon a time', max_tokens: 6 },
      })),
      '/v1/completions',
    );
    const embeddings = await createBatch(
      alice,
      [0, 1].map((index) => ({ custom_id: `e-${index}`, method: 'POST', url: '/v1/embeddings', body: { model: storiesModel, input: ['a cat', 'a dog'] } })),
      '/v1/embeddings',
    );
    const text = await waitForBatch(alice, completions.id, ended);
    const vectors = await waitForBatch(alice, embeddings.id, ended);
    expect([text.status, vectors.status]).toEqual(['completed', 'completed']);
    for (const line of await fileLines(alice, text.output_file_id))
      expect(line.response?.body).toMatchObject({ object: 'text_completion', choices: [{ text: expect.any(String) }] });
    for (const line of await fileLines(alice, vectors.output_file_id)) {
      expect(line.response?.body).toMatchObject({ object: 'list', data: [{ object: 'embedding', index: 0 }, { index: 1 }] });
      expect(line.response?.body.data[0].embedding.length).toBeGreaterThan(0);
    }
  });
});
