/**
 * An app's knowledge and function tools on the one tool loop, with the official client: a
 * scripted engine decides which tool (a 260K model cannot), the real loop, store, search and
 * ledger do the rest. On /v1/responses the app's vector stores become its file_search tool and
 * the answer cites their files; on /v1/chat/completions the loop runs server-side and the answer
 * carries `nimbus.app` and `nimbus.citations`; the app's function calls go back to the client.
 */
import { toFile } from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { callJson } from './support/json-api.js';
import { startResponsesServer, type ResponsesServer } from './support/responses-server.js';

let server: ResponsesServer;
let storeId: string;
let fileId: string;
const move = { type: 'function', name: 'move', description: 'Moves the character.', parameters: { type: 'object', properties: { to: { type: 'string' } } } };

beforeAll(async () => {
  server = await startResponsesServer();
  const file = await server.client.files.create({
    file: await toFile(Buffer.from('# Windows\n\nThe rear windows open with the switches on each door, unless the child lock is on.\n'), 'manual.md'),
    purpose: 'assistants',
  });
  fileId = file.id;
  const store = await server.client.vectorStores.create({ name: 'manual' });
  await server.client.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 });
  storeId = store.id;
  const created = await callJson(server.url, 'POST', '/v1/apps', {
    name: 'car',
    model: 'scripted',
    instructions: 'You are the car’s assistant.',
    vector_store_ids: [storeId],
    tools: [move],
    temperature: 0.3,
  });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
});

const ledger = async (id: string) => {
  await server.store.flush();
  return (await server.store.listRequests()).filter((row) => row.id === id || row.parentId === id);
};

test('on /v1/responses the app’s stores are its file_search tool: the answer cites the manual; every turn is billed to the app', async () => {
  server.engine.play([{ calls: [{ name: 'file_search', arguments: { queries: ['rear windows'] } }] }, { text: 'Use the door switches.' }]);
  const response = await server.client.responses.create({ model: 'app:car', input: 'How do the rear windows open?' });
  expect(response.output_text).toBe('Use the door switches.');
  expect(response.output.map((item) => item.type)).toEqual(['file_search_call', 'message']);
  const message = response.output[1] as { content: Array<{ annotations: unknown[] }> };
  expect(message.content[0]!.annotations).toEqual([expect.objectContaining({ type: 'file_citation', file_id: fileId, filename: 'manual.md' })]);
  const first = server.engine.requests[0]!;
  expect(first.messages[0]).toEqual({ role: 'system', content: 'You are the car’s assistant.' });
  expect(first.temperature).toBe(0.3);
  expect(first.tools?.map((tool) => tool.function.name).sort()).toEqual(['file_search', 'move']);
  const rows = await ledger(response.id);
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row).toMatchObject({ appId: 'car', appVersion: '1' });
});

test('on /v1/chat/completions the loop runs server-side: nimbus.app and nimbus.citations; the later turn is billed to the app', async () => {
  server.engine.play([{ calls: [{ name: 'file_search', arguments: { queries: ['rear windows'] } }] }, { text: 'Use the door switches.' }]);
  const completion = await server.client.chat.completions.create({ model: 'app:car', messages: [{ role: 'user', content: 'How do the rear windows open?' }] });
  expect(completion.choices[0]!.message.content).toBe('Use the door switches.');
  expect((completion as unknown as { nimbus: unknown }).nimbus).toEqual({
    app: { name: 'car', version: 1 },
    citations: [{ type: 'file_citation', file_id: fileId, filename: 'manual.md' }],
  });
  const rows = await ledger(completion.id);
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row).toMatchObject({ appId: 'car', appVersion: '1', kind: 'chat' });
  // Streamed, the final chunk carries it.
  server.engine.play([{ text: 'Hello.' }]);
  const stream = await server.client.chat.completions.create({ model: 'app:car', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Hello.');
  expect(chunks.some((chunk) => (chunk as unknown as { nimbus?: { app?: unknown } }).nimbus?.app)).toBe(true);
});

test('a call to the app’s function goes back to the client, on both APIs', async () => {
  server.engine.play([{ calls: [{ name: 'move', arguments: { to: 'north' } }] }]);
  const response = await server.client.responses.create({ model: 'app:car', input: 'Go north' });
  expect(response.output).toEqual([expect.objectContaining({ type: 'function_call', name: 'move', arguments: '{"to":"north"}' })]);
  server.engine.play([{ calls: [{ name: 'move', arguments: { to: 'south' } }] }]);
  const completion = await server.client.chat.completions.create({ model: 'app:car', messages: [{ role: 'user', content: 'Go south' }] });
  expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
  expect(completion.choices[0]!.message.tool_calls).toEqual([expect.objectContaining({ function: { name: 'move', arguments: '{"to":"south"}' } })]);
});

test('a request may not set what the app sets (tools, format, sampling), on chat either', async () => {
  const refused = await callJson(server.url, 'POST', '/v1/chat/completions', { model: 'app:car', temperature: 1, messages: [{ role: 'user', content: 'hi' }] });
  expect(refused).toMatchObject({ status: 400, body: { error: { param: 'temperature' } } });
});
