/**
 * What a response with tools leaves behind: every billed engine call of it is a ledger row under
 * its id (its turns, and the query embedding of a hybrid file search), and the stored response
 * holds each tool call and search as an item, so a retrieve shows what was retrieved and called.
 * A scripted engine chooses the tools and embeds; the real loop, store, search and ledger run.
 */
import { toFile } from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startResponsesServer, type ResponsesServer } from './support/responses-server.js';

let server: ResponsesServer;
let storeId: string;
beforeAll(async () => {
  server = await startResponsesServer({ embeddings: true });
  const file = await server.client.files.create({
    file: await toFile(Buffer.from('# Otters\n\nSea otters hold hands while they sleep.\n'), 'otters.md'),
    purpose: 'assistants',
  });
  const store = await server.client.vectorStores.create({ name: 'animals' });
  await server.client.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 });
  storeId = store.id;
});
afterAll(async () => {
  await server?.stop();
});

test('a hybrid file search is billed under the response: its turns and its query embedding; the stored response has the search and the call', async () => {
  server.engine.play([{ calls: [{ name: 'file_search', arguments: { queries: ['otters sleep'] } }] }, { calls: [{ name: 'get_time', arguments: {} }] }]);
  const response = await server.client.responses.create({
    model: 'scripted',
    input: 'How do otters sleep, and what time is it?',
    tools: [
      { type: 'file_search', vector_store_ids: [storeId] },
      { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false },
    ],
  });
  await server.store.flush();
  const rows = (await server.store.listRequests()).filter((row) => row.id === response.id || row.parentId === response.id);
  expect(rows.map((row) => [row.id === response.id ? 'response' : 'child', row.kind, row.status]).sort()).toEqual([
    ['child', 'embedding', 'ok'],
    ['child', 'response', 'ok'],
    ['response', 'response', 'ok'],
  ]);
  // The embedding row is the search's query, not the ingest's chunks (those have no parent).
  expect(rows.find((row) => row.kind === 'embedding')!.promptTokens).toBe(1);
  const stored = await server.client.responses.retrieve(response.id);
  expect(stored.output).toEqual([
    expect.objectContaining({ type: 'file_search_call', status: 'completed', queries: ['otters sleep'] }),
    expect.objectContaining({ type: 'function_call', name: 'get_time', arguments: '{}' }),
  ]);
});
