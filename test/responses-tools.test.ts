/**
 * Tools of `/v1/responses` on the one tool loop, with the official client: a scripted engine
 * decides which tool (choosing needs judgement a 260K model lacks), the real loop, store,
 * accounting and knowledge search run the mechanics. Function calls go back to the client and
 * their outputs continue the conversation; file_search runs server-side with citations.
 */
import { toFile } from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startResponsesServer, type ResponsesServer } from './support/responses-server.js';

let server: ResponsesServer;
let storeId: string;
let fileId: string;
beforeAll(async () => {
  server = await startResponsesServer();
  const file = await server.client.files.create({
    file: await toFile(Buffer.from('# Otters\n\nSea otters float on their backs in cold rivers and hold hands while they sleep.\n'), 'otters.md'),
    purpose: 'assistants',
  });
  fileId = file.id;
  const store = await server.client.vectorStores.create({ name: 'animals' });
  await server.client.vectorStores.files.createAndPoll(store.id, { file_id: file.id }, { pollIntervalMs: 50 });
  storeId = store.id;
});
afterAll(async () => {
  await server?.stop();
});

const ledger = async (id: string) => {
  await server.store.flush();
  return (await server.store.listRequests()).filter((row) => row.id === id || row.parentId === id);
};

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};

test('the model sees the conversation exactly: instructions for this response only, the earlier exchange again', async () => {
  server.engine.play([{ text: 'Hello.' }, { text: 'Again.' }]);
  const first = await server.client.responses.create({ model: 'scripted', instructions: 'Be brief.', input: 'hi' });
  const second = await server.client.responses.create({
    model: 'scripted',
    previous_response_id: first.id,
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'more' }] }],
  });
  expect(second.output_text).toBe('Again.');
  expect(server.engine.requests.map((request) => request.messages)).toEqual([
    [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ],
    [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'more' },
    ],
  ]);
});

test('a function call comes back as a function_call item; its output continues the conversation', async () => {
  server.engine.play([{ calls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }, { text: 'Sunny in Paris.' }]);
  const asked = await server.client.responses.create({ model: 'scripted', input: 'Weather in Paris?', tools: [weather] });
  expect(asked.status).toBe('completed');
  expect(asked.output).toEqual([expect.objectContaining({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' })]);
  const call = asked.output[0] as { call_id: string };
  expect(server.engine.requests[0]!.tools!.map((tool) => tool.function.name)).toEqual(['get_weather']);
  const answered = await server.client.responses.create({
    model: 'scripted',
    previous_response_id: asked.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"sky":"clear"}' }],
    tools: [weather],
  });
  expect(answered.output_text).toBe('Sunny in Paris.');
  expect(server.engine.requests[1]!.messages.slice(-2)).toEqual([
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    },
    { role: 'tool', tool_call_id: call.call_id, content: '{"sky":"clear"}' },
  ]);
  // Two requests, one model turn each: one ledger row each.
  expect(await ledger(asked.id)).toHaveLength(1);
  expect(await ledger(answered.id)).toHaveLength(1);
  const items = await server.client.responses.inputItems.list(answered.id);
  expect(items.data).toEqual([expect.objectContaining({ type: 'function_call_output', call_id: call.call_id, output: '{"sky":"clear"}' })]);
});

test('file_search runs on the server: results go to the model, the answer cites the file; each turn is a ledger row under the response', async () => {
  server.engine.play([{ calls: [{ name: 'file_search', arguments: { queries: ['otters sleep'] } }] }, { text: 'They hold hands.' }]);
  const response = await server.client.responses.create({
    model: 'scripted',
    input: 'How do otters sleep?',
    tools: [{ type: 'file_search', vector_store_ids: [storeId], max_num_results: 3 }],
    include: ['file_search_call.results'],
  });
  expect(response.output.map((item) => item.type)).toEqual(['file_search_call', 'message']);
  const search = response.output[0] as { queries: string[]; results: Array<{ file_id: string; filename: string; text: string }> };
  expect(search.queries).toEqual(['otters sleep']);
  expect(search.results[0]).toMatchObject({ file_id: fileId, filename: 'otters.md' });
  expect(search.results[0]!.text).toContain('hold hands');
  const message = response.output[1] as { content: Array<{ text: string; annotations: unknown[] }> };
  expect(message.content[0]!.annotations).toEqual([{ type: 'file_citation', file_id: fileId, filename: 'otters.md', index: 'They hold hands.'.length }]);
  // The model was given the passage as the tool's result.
  const toolMessage = server.engine.requests[1]!.messages.find((entry) => entry.role === 'tool');
  expect(JSON.stringify(toolMessage)).toContain('hold hands');
  const rows = await ledger(response.id);
  expect(rows.map((row) => [row.id === response.id ? 'response' : 'turn', row.parentId, row.kind, row.status])).toEqual(
    expect.arrayContaining([
      ['response', null, 'response', 'ok'],
      ['turn', response.id, 'response', 'ok'],
    ]),
  );
  expect(rows).toHaveLength(2);
  expect(rows.reduce((sum, row) => sum + row.promptTokens, 0)).toBe(response.usage!.input_tokens);
  // Without include, the results stay on the server; a continuation shows the model the same search again.
  server.engine.play([{ calls: [{ name: 'file_search', arguments: { queries: ['otters'] } }] }, { text: 'Yes.' }, { text: 'Still yes.' }]);
  const plain = await server.client.responses.create({ model: 'scripted', input: 'Otters?', tools: [{ type: 'file_search', vector_store_ids: [storeId] }] });
  expect((plain.output[0] as { results: unknown }).results).toBeNull();
  await server.client.responses.create({ model: 'scripted', previous_response_id: plain.id, input: 'Sure?' });
  const replayed = server.engine.requests[2]!.messages;
  expect(replayed.map((entry) => entry.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
});

test('a turn calling a server tool and a client function runs the search first, then returns the call; streamed with OpenAI’s events', async () => {
  server.engine.play([
    {
      calls: [
        { name: 'file_search', arguments: { queries: ['otters'] } },
        { name: 'get_weather', arguments: { city: 'Oslo' } },
      ],
    },
  ]);
  const stream = await server.client.responses.create({
    model: 'scripted',
    input: 'Otters and weather?',
    tools: [{ type: 'file_search', vector_store_ids: [storeId] }, weather],
    stream: true,
  });
  const types: string[] = [];
  let final: { output: Array<{ type: string }>; status: string } | undefined;
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.completed') final = event.response as unknown as typeof final;
  }
  expect(server.engine.requests).toHaveLength(1);
  expect(final!.output.map((item) => item.type)).toEqual(['file_search_call', 'function_call']);
  expect(types).toEqual(
    expect.arrayContaining([
      'response.file_search_call.in_progress',
      'response.file_search_call.searching',
      'response.file_search_call.completed',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
    ]),
  );
  expect(types.indexOf('response.file_search_call.completed')).toBeLessThan(types.indexOf('response.function_call_arguments.delta'));
});

test('citations stream as annotation events before the text is done', async () => {
  server.engine.play([{ calls: [{ name: 'file_search', arguments: { queries: ['cold rivers'] } }] }, { text: 'In cold rivers.' }]);
  const stream = await server.client.responses.create({
    model: 'scripted',
    input: 'Where?',
    tools: [{ type: 'file_search', vector_store_ids: [storeId] }],
    stream: true,
  });
  const events: Array<{ type: string; [field: string]: unknown }> = [];
  for await (const event of stream) events.push(event as unknown as (typeof events)[number]);
  const added = events.find((event) => event.type === 'response.output_text.annotation.added')!;
  expect(added.annotation).toEqual({ type: 'file_citation', file_id: fileId, filename: 'otters.md', index: 'In cold rivers.'.length });
  expect(events.indexOf(added)).toBeLessThan(events.findIndex((event) => event.type === 'response.output_text.done'));
});

test('an item_reference brings back a stored output message by its id; an unknown one is a 400 naming it', async () => {
  server.engine.play([{ text: 'Hello.' }, { text: 'Again.' }]);
  const first = await server.client.responses.create({ model: 'scripted', input: 'hi' });
  const said = first.output[0]!.id!;
  await server.client.responses.create({
    model: 'scripted',
    input: [
      { role: 'user', content: 'hi' },
      { type: 'item_reference', id: said },
      { role: 'user', content: 'more' },
    ],
  });
  expect(server.engine.requests[1]!.messages).toEqual([
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'user', content: 'more' },
  ]);
  const missing = await server.client.responses
    .create({ model: 'scripted', input: [{ type: 'item_reference', id: 'msg_nothing_0' }] })
    .catch((error: unknown) => error);
  expect(missing).toMatchObject({ status: 400, param: 'input[0]' });
});
