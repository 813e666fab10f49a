/**
 * Remote MCP tools of `/v1/responses` with the official `openai` client against a real MCP server
 * (the official SDK's McpServer over Streamable HTTP on a free port): a scripted engine decides
 * which tool (choosing needs judgement a 260K model lacks); the real tool loop, MCP client, store
 * and accounting run the mechanics. Listing, calls, allowed_tools, approvals (approve and deny),
 * the address policy, headers kept out of the stored response, and the streamed events.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMcpTestServer, type McpTestServer } from './support/mcp-test-server.js';
import { startResponsesServer, type ResponsesServer } from './support/responses-server.js';

let server: ResponsesServer;
let mcp: McpTestServer;
beforeAll(async () => {
  mcp = await startMcpTestServer();
  server = await startResponsesServer({ mcp: { allowedHosts: ['127.0.0.1', 'localhost'], allowLoopback: true } });
});
afterAll(async () => {
  await server?.stop();
  await mcp?.stop();
});

const secret = 'Bearer sk-mcp-secret-7f3a';
const docs = (extra: Record<string, unknown> = {}) => ({
  type: 'mcp' as const,
  server_label: 'docs',
  server_url: mcp.url,
  headers: { Authorization: secret },
  ...extra,
});
type Output = Array<{ type: string; [field: string]: unknown }>;

test('lists the tools, calls one, gives the model its output; the Authorization header reaches the server and is never stored', async () => {
  server.engine.play([{ calls: [{ name: 'docs__lookup', arguments: { word: 'otter' } }] }, { text: 'An otter is a small river animal.' }]);
  mcp.requests.length = 0;
  mcp.calls.length = 0;
  const response = await server.client.responses.create({
    model: 'scripted',
    input: 'What is an otter?',
    tools: [docs({ require_approval: 'never' })],
  });
  const output = response.output as unknown as Output;
  expect(output.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message']);
  expect(output[0]).toMatchObject({ type: 'mcp_list_tools', server_label: 'docs', error: null });
  const listed = output[0]!.tools as Array<{ name: string; description: string; input_schema: { properties: object }; annotations: unknown }>;
  expect(listed.map((tool) => tool.name)).toEqual(['lookup', 'delete_note', 'broken']);
  expect(listed[0]).toMatchObject({ description: 'Looks a word up in the glossary.', annotations: { readOnlyHint: true } });
  expect(listed[0]!.input_schema.properties).toHaveProperty('word');
  expect(output[1]).toMatchObject({
    type: 'mcp_call',
    status: 'completed',
    server_label: 'docs',
    name: 'lookup',
    arguments: '{"word":"otter"}',
    output: 'otter: a small river animal',
    error: null,
    approval_request_id: null,
  });
  expect(response.output_text).toBe('An otter is a small river animal.');
  expect(mcp.calls).toEqual([{ name: 'lookup', arguments: { word: 'otter' } }]);
  // The model was offered the server's tools and read the call's output.
  expect(server.engine.requests[0]!.tools!.map((tool) => tool.function.name)).toEqual(['docs__lookup', 'docs__delete_note', 'docs__broken']);
  expect(server.engine.requests[1]!.messages.at(-1)).toMatchObject({ role: 'tool', content: 'otter: a small river animal' });
  // Every request to the server carried the header; none of it is echoed or kept.
  expect(mcp.requests.filter((request) => request.method === 'POST').every((request) => request.authorization === secret)).toBe(true);
  expect(JSON.stringify(response)).not.toContain('sk-mcp-secret');
  expect(response.tools[0]).toMatchObject({ type: 'mcp', server_label: 'docs', server_url: mcp.url });
  expect(response.tools[0]).not.toHaveProperty('headers');
  const stored = await server.client.responses.retrieve(response.id);
  expect(JSON.stringify(stored)).not.toContain('sk-mcp-secret');
  await server.store.flush();
  const bytes = Buffer.concat(readdirSync(server.home).flatMap((name) => (name.startsWith('nimbus.db') ? [readFileSync(join(server.home, name))] : [])));
  expect(bytes.includes(response.id)).toBe(true);
  expect(bytes.includes('sk-mcp-secret')).toBe(false);
  // Two model turns: the response's row and one turn under it.
  const rows = (await server.store.listRequests()).filter((row) => row.id === response.id || row.parentId === response.id);
  expect(rows).toHaveLength(2);
});

test('allowed_tools narrows what the model sees, by names or by the read_only filter; a tool error comes back as a failed mcp_call', async () => {
  server.engine.play([{ calls: [{ name: 'docs__broken', arguments: {} }] }, { text: 'It failed.' }]);
  const byName = await server.client.responses.create({
    model: 'scripted',
    input: 'Try it',
    tools: [docs({ allowed_tools: ['broken'], require_approval: 'never' })],
  });
  const output = byName.output as unknown as Output;
  expect((output[0]!.tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(['broken']);
  expect(server.engine.requests[0]!.tools!.map((tool) => tool.function.name)).toEqual(['docs__broken']);
  expect(output[1]).toMatchObject({ type: 'mcp_call', status: 'failed', name: 'broken', output: null, error: 'the glossary is closed' });

  server.engine.play([{ text: 'Only reading.' }]);
  const readOnly = await server.client.responses.create({
    model: 'scripted',
    input: 'Read only',
    tools: [docs({ allowed_tools: { read_only: true }, require_approval: 'never' })],
  });
  expect(((readOnly.output as unknown as Output)[0]!.tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(['lookup']);
  expect(server.engine.requests[0]!.tools!.map((tool) => tool.function.name)).toEqual(['docs__lookup']);
});

describe('require_approval', () => {
  test('a call needing approval stops the response; an approval runs it in the next, and the model continues', async () => {
    server.engine.play([{ calls: [{ name: 'docs__delete_note', arguments: { id: 'n1' } }] }]);
    mcp.calls.length = 0;
    const tools = [docs({ require_approval: { never: { tool_names: ['lookup'] } } })];
    const asked = await server.client.responses.create({ model: 'scripted', input: 'Delete note n1', tools });
    const askedOutput = asked.output as unknown as Output;
    expect(asked.status).toBe('completed');
    expect(askedOutput.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_approval_request']);
    const request = askedOutput[1]!;
    expect(request).toMatchObject({ server_label: 'docs', name: 'delete_note', arguments: '{"id":"n1"}' });
    expect(mcp.calls).toEqual([]);

    server.engine.play([{ text: 'Deleted.' }]);
    const approved = await server.client.responses.create({
      model: 'scripted',
      previous_response_id: asked.id,
      input: [{ type: 'mcp_approval_response', approval_request_id: String(request.id), approve: true }],
      tools,
    });
    const output = approved.output as unknown as Output;
    expect(output.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message']);
    expect(output[1]).toMatchObject({ name: 'delete_note', output: 'deleted n1', approval_request_id: request.id });
    expect(mcp.calls).toEqual([{ name: 'delete_note', arguments: { id: 'n1' } }]);
    expect(server.engine.requests[0]!.messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: request.id, type: 'function', function: { name: 'docs__delete_note', arguments: '{"id":"n1"}' } }],
      },
      { role: 'tool', tool_call_id: request.id, content: 'deleted n1' },
    ]);
    // Answered once: the same approval again is refused.
    const again = await server.client.responses
      .create({
        model: 'scripted',
        previous_response_id: approved.id,
        input: [{ type: 'mcp_approval_response', approval_request_id: String(request.id), approve: true }],
        tools,
      })
      .catch((error: unknown) => error);
    expect(again).toBeInstanceOf(APIError);
    expect((again as APIError).param).toBe('input[0].approval_request_id');
  });

  test('a denied call is never sent; the model is told', async () => {
    server.engine.play([{ calls: [{ name: 'docs__delete_note', arguments: { id: 'n2' } }] }]);
    mcp.calls.length = 0;
    const asked = await server.client.responses.create({ model: 'scripted', input: 'Delete note n2', tools: [docs()] });
    const request = (asked.output as unknown as Output).find((item) => item.type === 'mcp_approval_request')!;
    server.engine.play([{ text: 'I did not delete it.' }]);
    const denied = await server.client.responses.create({
      model: 'scripted',
      previous_response_id: asked.id,
      input: [{ type: 'mcp_approval_response', approval_request_id: String(request.id), approve: false }],
      tools: [docs()],
    });
    expect((denied.output as unknown as Output).map((item) => item.type)).toEqual(['mcp_list_tools', 'message']);
    expect(mcp.calls).toEqual([]);
    expect(server.engine.requests[0]!.messages.at(-1)).toMatchObject({
      role: 'tool',
      tool_call_id: request.id,
      content: expect.stringContaining('did not approve'),
    });
  });

  test('an approved call whose server is gone is a failed mcp_call naming it; the model still answers', async () => {
    const gone = await startMcpTestServer();
    const tools = [{ type: 'mcp' as const, server_label: 'later', server_url: gone.url }];
    server.engine.play([{ calls: [{ name: 'later__lookup', arguments: { word: 'heron' } }] }]);
    const asked = await server.client.responses.create({ model: 'scripted', input: 'Heron?', tools });
    const request = (asked.output as unknown as Output).find((item) => item.type === 'mcp_approval_request')!;
    await gone.stop();
    server.engine.play([{ text: 'The glossary is unreachable.' }]);
    const approved = await server.client.responses.create({
      model: 'scripted',
      previous_response_id: asked.id,
      input: [{ type: 'mcp_approval_response', approval_request_id: String(request.id), approve: true }],
      tools,
    });
    const output = approved.output as unknown as Output;
    expect(output.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message']);
    expect(output[0]!.error).toContain('refused the connection');
    expect(output[1]).toMatchObject({ status: 'failed', server_label: 'later', name: 'lookup', output: null, approval_request_id: request.id });
    expect(gone.calls).toEqual([]);
  });

  test('an approval response names only an MCP approval request of the conversation, never anything else (a device approval)', async () => {
    const refused = async (body: Record<string, unknown>) =>
      (await server.client.responses.create({ model: 'scripted', input: [], ...body } as never).catch((error: unknown) => error)) as APIError;
    const unknown = await refused({ input: [{ type: 'mcp_approval_response', approval_request_id: 'apr_device_1', approve: true }], tools: [docs()] });
    expect([unknown.status, unknown.param]).toEqual([400, 'input[0].approval_request_id']);
    expect(unknown.message).toContain('never a Nimbus device action');
    const noServer = await refused({ input: [{ type: 'mcp_approval_response', approval_request_id: 'apr_device_1', approve: true }] });
    expect([noServer.status, noServer.param]).toEqual([400, 'input[0]']);
  });
});

describe('the address policy', () => {
  let strict: ResponsesServer;
  beforeAll(async () => {
    strict = await startResponsesServer({ mcp: { allowedHosts: ['127.0.0.1', 'localhost', 'mcp.example.com', '10.1.2.3'] } });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  const refusal = async (target: ResponsesServer, url: string) => {
    const error = (await target.client.responses
      .create({
        model: 'scripted',
        input: 'hi',
        tools: [
          { type: 'function', name: 'noop', parameters: null, strict: null },
          { type: 'mcp', server_label: 'x', server_url: url },
        ],
      })
      .catch((caught: unknown) => caught)) as APIError;
    expect(error).toBeInstanceOf(APIError);
    return { status: error.status, param: error.param, message: error.message };
  };

  test('loopback (a literal, or a name resolving to it), private addresses and hosts not listed are refused with a 400 naming the URL', async () => {
    mcp.requests.length = 0;
    expect(await refusal(strict, mcp.url)).toMatchObject({ status: 400, param: 'tools[1].server_url', message: expect.stringContaining('loopback') });
    expect(await refusal(strict, `http://localhost:${mcp.port}/mcp`)).toMatchObject({
      param: 'tools[1].server_url',
      message: expect.stringContaining('loopback'),
    });
    expect(await refusal(strict, 'https://10.1.2.3/mcp')).toMatchObject({ param: 'tools[1].server_url', message: expect.stringContaining('private') });
    expect(await refusal(strict, 'https://[::ffff:127.0.0.1]/mcp')).toMatchObject({ param: 'tools[1].server_url' });
    expect(await refusal(strict, 'https://evil.example.net/mcp')).toMatchObject({
      param: 'tools[1].server_url',
      message: expect.stringContaining('mcp.allowedHosts'),
    });
    expect(await refusal(server, 'http://user:pw@127.0.0.1/mcp')).toMatchObject({ param: 'tools[1].server_url' });
    expect(mcp.requests).toEqual([]);
  });

  test('with no host listed, MCP tools are off', async () => {
    const off = await startResponsesServer();
    try {
      expect(await refusal(off, mcp.url)).toMatchObject({ status: 400, param: 'tools[1].server_url', message: expect.stringContaining('off') });
    } finally {
      await off.stop();
    }
  });

  test('an allowed server that cannot be reached is an mcp_list_tools item with its error; the model answers without it', async () => {
    const closed = await startMcpTestServer();
    await closed.stop();
    server.engine.play([{ text: 'No tools today.' }]);
    const response = await server.client.responses.create({
      model: 'scripted',
      input: 'hi',
      tools: [{ type: 'mcp', server_label: 'gone', server_url: closed.url }],
    });
    const output = response.output as unknown as Output;
    expect(output.map((item) => item.type)).toEqual(['mcp_list_tools', 'message']);
    expect(output[0]).toMatchObject({ server_label: 'gone', tools: [], error: expect.stringContaining('refused the connection') });
    expect(output[0]!.error).not.toMatch(/\n\s+at /);
    expect(server.engine.requests[0]!.tools).toBeUndefined();
  });
});

test('streamed: OpenAI’s MCP events in order, consecutive sequence numbers', async () => {
  server.engine.play([{ calls: [{ name: 'docs__lookup', arguments: { word: 'vole' } }] }, { text: 'A vole.' }]);
  const stream = await server.client.responses.create({
    model: 'scripted',
    input: 'Vole?',
    tools: [docs({ require_approval: 'never' })],
    stream: true,
  });
  const events: Array<{ type: string; sequence_number: number; [field: string]: unknown }> = [];
  for await (const event of stream) events.push(event as unknown as (typeof events)[number]);
  const types = events.map((event) => event.type);
  expect(types.filter((type) => type !== 'response.output_text.delta')).toEqual([
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.mcp_list_tools.in_progress',
    'response.mcp_list_tools.completed',
    'response.output_item.done',
    'response.output_item.added',
    'response.mcp_call_arguments.delta',
    'response.mcp_call_arguments.done',
    'response.mcp_call.in_progress',
    'response.mcp_call.completed',
    'response.output_item.done',
    'response.output_item.added',
    'response.content_part.added',
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.completed',
  ]);
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
  const call = events.find((event) => event.type === 'response.mcp_call.completed')!;
  const done = events.find((event) => event.type === 'response.output_item.done' && (event.item as { type: string }).type === 'mcp_call')!;
  expect(call.item_id).toBe((done.item as { id: string }).id);
  expect(done.item).toMatchObject({ output: 'vole: a small river animal' });
  expect(JSON.stringify(events)).not.toContain('sk-mcp-secret');
});
