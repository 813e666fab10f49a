/**
 * Faults tell callers the truth at once (issue 17, item 7), through a `nimbus serve` process, its
 * embedded broker, virtual devices and a scripted model: a device lost mid-command fails it within
 * a second; a timeout is a 504 with the command's id and state; an Idempotency-Key runs a command
 * once (a retry while it runs waits for its answer, a retry after gets the stored answer); a chat
 * whose later turn fails still returns the actions taken; errors after a side effect say
 * `x-should-retry: false`. A chat that acts on devices and an MCP tool call honour an
 * Idempotency-Key too: an SDK retry does not act twice.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let server: SafetyServer;
let admin: string;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream, devices: { commandTimeoutMs: 4000 } });
  admin = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  await server.addSim(admin, 'lamp', 'lamp-1');
  await server.addSim(admin, 'lamp', 'slow-1', { answers: 'never' });
  await server.addSim(admin, 'lamp', 'doomed-1', { answers: 'never' });
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/doomed-1/twin')).body.connection).toBe('online'));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

test('a device lost mid-command fails it within a second, not at the deadline', async () => {
  const doomed = server.sims.get('doomed-1')!;
  const started = Date.now();
  const pending = server.api(admin, 'PUT', '/v1/devices/doomed-1/properties/on', { value: true });
  await eventually(() => expect(doomed.received).toHaveLength(1));
  const lostAt = Date.now();
  doomed.crash();
  const answer = await pending;
  expect(Date.now() - lostAt).toBeLessThan(1500);
  expect(Date.now() - started).toBeLessThan(3500);
  expect(answer.body).toMatchObject({ status: 'failed', message: expect.stringMatching(/lost/) });
});

test('a timeout answers 504 with the command id and state, and says not to retry', async () => {
  const answer = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 10 });
  expect(answer.status).toBe(504);
  expect(answer.body.error).toMatchObject({ code: 'device_timeout', command: expect.stringMatching(/^cmd_/), state: 'timed_out' });
  expect(answer.headers.get('x-should-retry')).toBe('false');
  const command = await server.api(admin, 'GET', `/v1/devices/slow-1/commands/${answer.body.error.command}`);
  expect(command.body.state).toBe('timed_out');
});

test('an Idempotency-Key runs a command once: a retry while it runs waits for its answer, a retry after gets the stored answer', async () => {
  const slow = server.sims.get('slow-1')!;
  const before = slow.received.length;
  const key = { 'idempotency-key': 'set-brightness-42' };
  const first = server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 42 }, key);
  await eventually(() => expect(slow.received.length).toBe(before + 1));
  const whileRunning = server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 42 }, key);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await slow.answerLate(slow.received.at(-1)!.id, { brightness: 42 });
  const [done, waited] = await Promise.all([first, whileRunning]);
  expect(done.body).toMatchObject({ status: 'acked', command: expect.stringMatching(/^cmd_/) });
  expect([waited.status, waited.body, waited.headers.get('idempotent-replayed')]).toEqual([200, done.body, 'true']);
  const retry = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 42 }, key);
  expect([retry.status, retry.body, retry.headers.get('idempotent-replayed')]).toEqual([200, done.body, 'true']);
  expect(slow.received.length).toBe(before + 1);
  const reused = await server.api(admin, 'PUT', '/v1/devices/slow-1/properties/brightness', { value: 43 }, key);
  expect(reused.status).toBe(409);
  expect(reused.body.error.message).toMatch(/another request/);
});

test('a chat whose later turn fails returns the actions already taken, and says not to retry', async () => {
  upstream.play([
    { calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 77 } }] },
    { status: 500 },
    { status: 500 },
    { status: 500 },
    { status: 500 },
  ]);
  const answer = await server.api(admin, 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'Brighter' }],
    nimbus: { devices: ['lamp-1'] },
  });
  expect(answer.status).toBeGreaterThanOrEqual(500);
  expect(answer.headers.get('x-should-retry')).toBe('false');
  expect(answer.body.nimbus.actions).toEqual([
    expect.objectContaining({ device: 'lamp-1', status: 'acked', state_after: expect.objectContaining({ brightness: 77 }) }),
  ]);
  expect(server.sims.get('lamp-1')!.state.brightness).toBe(77);
});

test("an SDK retry of a chat that actuated does not act twice: the official client resends the request's Idempotency-Key, and gets the first answer", async () => {
  const lamp = server.sims.get('lamp-1')!;
  const before = lamp.received.length;
  // If the retry ran again, the model would set the lamp a second time.
  upstream.play([
    { calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 31 } }] },
    { text: 'Set to 31.' },
    { calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 32 } }] },
    { text: 'Set to 32.' },
  ]);
  let attempts = 0;
  const client = new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey: admin,
    maxRetries: 2,
    // The first answer is lost on the way back (the server acted and answered; the connection dropped): the SDK retries.
    fetch: async (url, init) => {
      attempts += 1;
      const response = await fetch(url, init);
      if (attempts > 1) return response;
      await response.text();
      throw new TypeError('fetch failed: the connection dropped after the server answered');
    },
  });
  const { data, response } = await client.chat.completions
    .create({ model: 'scripted', messages: [{ role: 'user', content: 'Dim the lamp' }], nimbus: { devices: ['lamp-1'] } } as never, {
      headers: { 'Idempotency-Key': 'chat-dim-1' },
    })
    .withResponse();
  expect(attempts).toBe(2);
  expect(response.headers.get('idempotent-replayed')).toBe('true');
  expect(data.choices[0]!.message.content).toBe('Set to 31.');
  expect((data as unknown as { nimbus: { actions: Array<{ status: string }> } }).nimbus.actions.map((action) => action.status)).toEqual(['acked']);
  expect(lamp.received.length).toBe(before + 1);
  expect(lamp.state.brightness).toBe(31);
  // The same key for another request is refused; a chat without devices ignores the header.
  const other = await server.api(
    admin,
    'POST',
    '/v1/chat/completions',
    { model: 'scripted', messages: [{ role: 'user', content: 'Brighter' }], nimbus: { devices: ['lamp-1'] } },
    { 'idempotency-key': 'chat-dim-1' },
  );
  expect([other.status, other.headers.get('x-should-retry')]).toEqual([409, 'false']);
  expect(lamp.received.length).toBe(before + 1);
});

test('an MCP tool call with an Idempotency-Key runs once; a retry of the same message gets the first answer', async () => {
  const lamp = server.sims.get('lamp-1')!;
  const headers = { accept: 'application/json, text/event-stream' };
  const init = await server.api(
    admin,
    'POST',
    '/mcp',
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
    headers,
  );
  const session = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'idempotency-key': 'mcp-set-9' };
  const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'lamp-1__set_brightness', arguments: { value: 9 } } };
  const before = lamp.received.length;
  const first = await server.api(admin, 'POST', '/mcp', call, session);
  expect(first.body.result.structuredContent).toMatchObject({ status: 'acked' });
  const retry = await server.api(admin, 'POST', '/mcp', call, session);
  expect([retry.status, retry.headers.get('idempotent-replayed'), retry.body]).toEqual([200, 'true', first.body]);
  expect(lamp.received.length).toBe(before + 1);
  // Without the key, the same message acts again.
  const again = await server.api(admin, 'POST', '/mcp', call, { ...headers, 'mcp-session-id': session['mcp-session-id'] });
  expect(again.body.result.structuredContent).toMatchObject({ status: 'acked' });
  expect(lamp.received.length).toBe(before + 2);
});
