/**
 * `/v1/responses` lines in a batch (issue 29, item 1), through the official `openai` client
 * against a real `nimbus serve` process running stories260K: each line answers a response object
 * (not streamed), not stored unless the line sets `store: true` (that one can be retrieved after),
 * function tools return `function_call` items, MCP and file_search tools and `stream` are error
 * lines; every answered line is one ledger row of kind response marked with the batch.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { batchLedger, createBatch, ended, fileLines, storiesModel, waitForBatch } from './support/batch-rig.js';
import { callJson } from './support/json-api.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

function responseLine(customId: string, body: Record<string, unknown> = {}): object {
  return { custom_id: customId, method: 'POST', url: '/v1/responses', body: { model: storiesModel, input: 'Once upon a time', max_output_tokens: 8, ...body } };
}

describe.skipIf(skip)('responses batches', () => {
  let server: NimbusProcess;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2']);
    await waitReady(server.url);
    const operator = (await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true } })).body.key as string;
    const key = (await callJson(server.url, 'POST', '/v1/keys', { name: 'researcher' }, operator)).body.key as string;
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0 });
  }, 120_000);

  afterAll(async () => server?.stop());

  test('response lines answer response objects; store is off unless set; function tools return calls; other tools are refused', async () => {
    const tool = {
      type: 'function',
      name: 'save',
      parameters: { type: 'object', properties: { word: { type: 'string', enum: ['cat', 'dog'] } }, required: ['word'] },
    };
    const lines = [
      responseLine('plain-0'),
      responseLine('plain-1', { instructions: 'Tell a story.' }),
      responseLine('stored', { store: true }),
      responseLine('tool', { tools: [tool], tool_choice: { type: 'function', name: 'save' }, max_output_tokens: 100, temperature: 0 }),
      responseLine('mcp', { tools: [{ type: 'mcp', server_label: 'x', server_url: 'http://127.0.0.1:9' }] }),
      responseLine('search', { tools: [{ type: 'file_search', vector_store_ids: ['vs_x'] }] }),
      responseLine('streamed', { stream: true }),
    ];
    const created = await createBatch(client, lines, '/v1/responses');
    expect(created.endpoint).toBe('/v1/responses');
    const batch = await waitForBatch(client, created.id, ended);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 7, completed: 4, failed: 3 });

    const output = await fileLines(client, batch.output_file_id);
    const byId = Object.fromEntries(output.map((line) => [line.custom_id, line.response!.body]));
    expect(Object.keys(byId).sort()).toEqual(['plain-0', 'plain-1', 'stored', 'tool']);
    for (const body of Object.values(byId))
      expect(body).toMatchObject({ object: 'response', model: storiesModel, usage: { input_tokens: expect.any(Number) } });
    expect(byId['plain-0']).toMatchObject({ store: false, status: expect.stringMatching(/completed|incomplete/) });
    expect(byId['plain-0'].output[0]).toMatchObject({ type: 'message', role: 'assistant' });
    expect(byId['plain-1'].instructions).toBe('Tell a story.');
    const call = byId.tool.output.find((item: { type: string }) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'save' });
    expect(JSON.parse(call.arguments)).toHaveProperty('word');

    // Only the line that asked is stored.
    expect(byId.stored.store).toBe(true);
    await expect(client.responses.retrieve(byId.stored.id)).resolves.toMatchObject({ id: byId.stored.id, status: byId.stored.status });
    await expect(client.responses.retrieve(byId['plain-0'].id)).rejects.toMatchObject({ status: 404 });

    const errors = await fileLines(client, batch.error_file_id);
    expect(Object.fromEntries(errors.map((line) => [line.custom_id, [line.response?.status_code, line.response?.body.error.param]]))).toEqual({
      mcp: [400, 'tools[0].type'],
      search: [400, 'tools[0].type'],
      streamed: [400, 'stream'],
    });

    const rows = await batchLedger(server.home, undefined, batch.id);
    expect(
      rows
        .filter((row) => row.status === 'ok')
        .map((row) => row.id)
        .sort(),
    ).toEqual(output.map((line) => line.id).sort());
    for (const row of rows) expect(row).toMatchObject({ kind: 'response', batch_id: batch.id });
  }, 180_000);
});
