/**
 * An app's devices and MCP servers through live app calls (issue 23, items 3 and 4): a
 * `nimbus serve` process with its embedded broker, virtual devices speaking MQTT to it, a real
 * MCP server on 127.0.0.1 (allowed by the process's `mcp` settings), a scripted upstream deciding
 * the tool calls, and the official `openai` client calling `model: "app:NAME"` with an app key.
 * The lamp acts and its twin changes, with the audit's rows; the lock's command ends the call with
 * an approval request, an approver key (the car's confirm control's kind) grants it through
 * /v1/approvals, and the continuation presents it (`nimbus.approvals`) and runs the command; the
 * MCP server's tool runs after the client approves the call.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { startMcpTestServer, type McpTestServer } from './support/mcp-test-server.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let mcp: McpTestServer;
let server: SafetyServer;
let operator: string;
let appKey: string;
let approver: string;
let client: OpenAI;

type Item = { type: string; [field: string]: unknown };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- audit details hold JSON of many shapes
type AuditRow = { event: string; device: string | null; approval: string | null; source: string; key: string | null; detail: Record<string, any> };

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  mcp = await startMcpTestServer();
  server = await startSafetyServer({ upstream, config: { mcp: { allowedHosts: ['127.0.0.1'], allowLoopback: true, callTimeoutMs: 5000 } } });
  operator = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  await server.addSim(operator, 'lamp', 'lamp-1');
  await server.addSim(operator, 'lock', 'lock-1');
  await eventually(async () => expect((await server.api(operator, 'GET', '/v1/devices/lock-1/twin')).body.connection).toBe('online'));
  for (const app of [
    { name: 'home', model: 'scripted', instructions: 'You run the house.', devices: ['lamp-1', 'lock-1'] },
    { name: 'glossary', model: 'scripted', instructions: 'You look words up.', mcp_servers: [{ server_label: 'docs', server_url: mcp.url }] },
  ])
    expect((await server.api(operator, 'POST', '/v1/apps', app)).status).toBe(201);
  appKey = await server.key(operator, 'kiosk', { apps: ['home', 'glossary'] });
  approver = await server.key(operator, 'front-door-confirm', { inference: false, admin: false, models: [], devices: [], approvals: ['lock-1'] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: appKey, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await mcp?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

async function audit(query: string): Promise<AuditRow[]> {
  return [...(await server.api(operator, 'GET', `/v1/audit?${query}&limit=1000`)).body.data].reverse();
}

test('the app’s lamp acts through a live app call: the twin changes and the audit has the rows', async () => {
  upstream.play([{ calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 70 } }] }, { text: 'The lamp is at 70%.' }]);
  const response = await client.responses.create({ model: 'app:home', input: 'Dim the lamp.' });
  const output = response.output as unknown as Item[];
  expect(output.map((item) => item.type)).toEqual(['nimbus_device_call', 'message']);
  expect(output[0]).toMatchObject({ device: 'lamp-1', action: { status: 'acked', state_after: expect.objectContaining({ brightness: 70 }) } });
  expect(response.output_text).toBe('The lamp is at 70%.');
  // The model was offered the app's devices as tools, and only those.
  const offered = (upstream.requests[0].tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name);
  expect(offered).toEqual(expect.arrayContaining(['lamp-1__set_brightness', 'lock-1__do_unlock']));
  expect(offered.every((name) => name.startsWith('lamp-1__') || name.startsWith('lock-1__'))).toBe(true);
  await eventually(async () => expect((await server.api(operator, 'GET', '/v1/devices/lamp-1/twin')).body.reported.brightness).toBe(70));
  const rows = await audit(`conversation=${String(output[0]!.conversation)}`);
  expect(rows.map((row) => [row.event, row.device, row.source])).toEqual([
    ['proposal', 'lamp-1', 'response'],
    ['execution', 'lamp-1', 'response'],
    ['outcome', 'lamp-1', 'device'],
  ]);
  // The same app on chat completions: the action in nimbus.actions.
  upstream.play([{ calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 30 } }] }, { text: 'Now 30%.' }]);
  const chat = (await client.chat.completions.create({ model: 'app:home', messages: [{ role: 'user', content: 'Dimmer.' }] })) as unknown as {
    choices: Array<{ message: { content: string } }>;
    nimbus: { actions: Array<Record<string, unknown>> };
  };
  expect(chat.choices[0]!.message.content).toBe('Now 30%.');
  expect(chat.nimbus.actions).toEqual([expect.objectContaining({ device: 'lamp-1', status: 'acked' })]);
  expect(server.sims.get('lamp-1')!.state.brightness).toBe(30);
});

test('an approval on an app call: the call ends with the request, the approver grants it, the continuation presents it and the lock opens', async () => {
  const unlock = { name: 'lock-1__do_unlock', arguments: { seconds: 5 } };
  upstream.play([{ calls: [unlock] }, { text: 'never reached' }]);
  const asked = await client.responses.create({ model: 'app:home', input: 'Unlock the front door.' });
  const request = (asked.output as unknown as Item[]).at(-1)!;
  expect(request).toMatchObject({ type: 'nimbus_device_approval_request', device: 'lock-1', risk: 'high', approval_id: expect.stringMatching(/^apr_/) });
  expect(upstream.requests).toHaveLength(1);
  const approval = String(request.approval_id);
  expect(server.sims.get('lock-1')!.state.locked).toBe(true);
  // The kiosk's key asked, so it cannot grant; the door's confirm control can.
  expect((await server.api(appKey, 'POST', `/v1/approvals/${approval}/grant`)).status).toBe(403);
  expect((await server.api(approver, 'GET', '/v1/approvals?status=requested')).body.data.map((found: { id: string }) => found.id)).toContain(approval);
  expect((await server.api(approver, 'POST', `/v1/approvals/${approval}/grant`)).body.status).toBe('granted');
  // Continued without presenting the grant, nothing is redeemed for it: the command asks again.
  upstream.play([{ calls: [unlock] }]);
  const unpresented = await client.responses.create({ model: 'app:home', input: 'Go on.', previous_response_id: asked.id });
  expect((unpresented.output as unknown as Item[]).at(-1)).toMatchObject({ type: 'nimbus_device_approval_request' });
  expect(server.sims.get('lock-1')!.state.locked).toBe(true);
  // Presented in the continuation, the same command (same key, same hash) runs.
  upstream.play([{ calls: [unlock] }, { text: 'The door is unlocked.' }]);
  const done = await client.responses.create({
    model: 'app:home',
    input: 'Approved on the door panel.',
    previous_response_id: asked.id,
    nimbus: { approvals: [approval] },
  } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming);
  const output = done.output as unknown as Item[];
  expect(output.map((item) => item.type)).toEqual(['nimbus_device_call', 'message']);
  expect(output[0]).toMatchObject({
    device: 'lock-1',
    conversation: request.conversation,
    action: { status: 'acked', approval, state_after: { locked: false } },
  });
  expect(done.output_text).toBe('The door is unlocked.');
  expect(server.sims.get('lock-1')!.state.locked).toBe(false);
  const rows = await audit(`conversation=${String(request.conversation)}`);
  expect(rows.map((row) => row.event)).toEqual(expect.arrayContaining(['approval_requested', 'approval_redeemed', 'execution', 'outcome']));
  await server.api(operator, 'POST', '/v1/devices/lock-1/actions/lock', {});
  await eventually(() => expect(server.sims.get('lock-1')!.state.locked).toBe(true));
});

test('on chat completions too: approval_required in nimbus.actions, then nimbus.approvals presents the grant; other nimbus fields are the app’s', async () => {
  const unlock = { name: 'lock-1__do_unlock', arguments: { seconds: 5 } };
  type Chat = { choices: Array<{ message: { content: string } }>; nimbus: { actions: Array<Record<string, unknown>> } };
  upstream.play([{ calls: [unlock] }, { text: 'Please confirm at the door.' }]);
  const asked = (await client.chat.completions.create({ model: 'app:home', messages: [{ role: 'user', content: 'Unlock.' }] })) as unknown as Chat;
  const action = asked.nimbus.actions[0]!;
  expect(action).toMatchObject({ device: 'lock-1', status: 'approval_required' });
  const approval = String(action.approval);
  expect((await server.api(approver, 'POST', `/v1/approvals/${approval}/grant`)).body.status).toBe('granted');
  upstream.play([{ calls: [unlock] }, { text: 'Unlocked.' }]);
  const done = (await client.chat.completions.create({
    model: 'app:home',
    messages: [{ role: 'user', content: 'Unlock, it is approved.' }],
    nimbus: { approvals: [approval] },
  } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)) as unknown as Chat;
  expect(done.nimbus.actions[0]).toMatchObject({ status: 'acked', approval });
  expect(server.sims.get('lock-1')!.state.locked).toBe(false);
  const widened = await server.api(appKey, 'POST', '/v1/chat/completions', {
    model: 'app:home',
    messages: [{ role: 'user', content: 'x' }],
    nimbus: { devices: true },
  });
  expect([widened.status, widened.body.error.param]).toEqual([400, 'nimbus.devices']);
  const nothingToApprove = await server.api(appKey, 'POST', '/v1/responses', { model: 'app:glossary', input: 'x', nimbus: { approvals: [approval] } });
  expect([nothingToApprove.status, nothingToApprove.body.error.param]).toEqual([400, 'nimbus.approvals']);
  await server.api(operator, 'POST', '/v1/devices/lock-1/actions/lock', {});
});

test('with an Idempotency-Key, a retried app call that acted gets the first answer and acts once, on responses and chat', async () => {
  const lamp = server.sims.get('lamp-1')!;
  const post = () =>
    fetch(`${server.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appKey}`, 'content-type': 'application/json', 'idempotency-key': 'toggle-once' },
      body: JSON.stringify({ model: 'app:home', input: 'Toggle the lamp.' }),
    });
  upstream.play([{ calls: [{ name: 'lamp-1__do_toggle', arguments: {} }] }, { text: 'Toggled.' }]);
  const before = lamp.received.length;
  const first = (await (await post()).json()) as { id: string };
  upstream.play([{ calls: [{ name: 'lamp-1__do_toggle', arguments: {} }] }, { text: 'Toggled again.' }]);
  const retried = await post();
  expect(retried.headers.get('idempotent-replayed')).toBe('true');
  expect(((await retried.json()) as { id: string }).id).toBe(first.id);
  expect(lamp.received.length - before).toBe(1);
  expect(upstream.requests).toHaveLength(0);
  // The same on chat completions, whose app runs its tool loop on the server.
  const chat = () =>
    fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appKey}`, 'content-type': 'application/json', 'idempotency-key': 'chat-toggle-once' },
      body: JSON.stringify({ model: 'app:home', messages: [{ role: 'user', content: 'Toggle the lamp.' }] }),
    });
  upstream.play([{ calls: [{ name: 'lamp-1__do_toggle', arguments: {} }] }, { text: 'Toggled.' }]);
  const chatBefore = lamp.received.length;
  const answered = (await (await chat()).json()) as { id: string };
  upstream.play([{ calls: [{ name: 'lamp-1__do_toggle', arguments: {} }] }, { text: 'Toggled again.' }]);
  const again = await chat();
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(((await again.json()) as { id: string }).id).toBe(answered.id);
  expect(lamp.received.length - chatBefore).toBe(1);
  expect(upstream.requests).toHaveLength(0);
});

test('the app’s MCP server: listed on the call, its tool held for the client’s approval, then run on the real server', async () => {
  upstream.play([{ calls: [{ name: 'docs__lookup', arguments: { word: 'otter' } }] }]);
  const asked = await client.responses.create({ model: 'app:glossary', input: 'What is an otter?' });
  const askedOutput = asked.output as unknown as Item[];
  expect(askedOutput.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_approval_request']);
  expect((askedOutput[0]!.tools as Array<{ name: string }>).map((tool) => tool.name)).toContain('lookup');
  expect(mcp.calls).toEqual([]);
  upstream.play([{ text: 'An otter is a small river animal.' }]);
  const answered = await client.responses.create({
    model: 'app:glossary',
    previous_response_id: asked.id,
    input: [{ type: 'mcp_approval_response', approval_request_id: String(askedOutput[1]!.id), approve: true }],
  });
  const output = answered.output as unknown as Item[];
  expect(output.map((item) => item.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message']);
  expect(output[1]).toMatchObject({ server_label: 'docs', name: 'lookup', output: 'otter: a small river animal', error: null });
  expect(mcp.calls).toEqual([{ name: 'lookup', arguments: { word: 'otter' } }]);
  expect(answered.output_text).toBe('An otter is a small river animal.');
  expect((answered as unknown as { app: unknown }).app).toEqual({ name: 'glossary', version: 1 });
});
