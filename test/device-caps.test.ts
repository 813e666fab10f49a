/**
 * Caps however the calls arrive (issue 17, item 6), through a `nimbus serve` process, its embedded
 * broker, virtual lamps and a scripted model: an MCP batch over the device cap sends nothing; a
 * conversation's devices count across its requests; a key makes at most 10 actuations a minute
 * whether through one MCP session, a re-initialised one or REST.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { mcpSession, startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let server: SafetyServer;
let admin: string;
const lamps = ['lamp-1', 'lamp-2', 'lamp-3', 'lamp-4'];

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream });
  admin = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  for (const id of lamps) await server.addSim(admin, 'lamp', id);
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/lamp-4/twin')).body.connection).toBe('online'));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

const setOn = (id: string, value: boolean) => ({ jsonrpc: '2.0', method: 'tools/call', params: { name: `${id}__set_on`, arguments: { value } } });

test('an MCP batch of 4 actuations over the cap of 3 sends none of them', async () => {
  const key = await server.key(admin, 'batcher', { devices: '*' });
  const mcp = await mcpSession(server, key);
  const batch = lamps.map((id, index) => ({ ...setOn(id, true), id: 10 + index }));
  const answer = await mcp.send(batch);
  expect(answer.body.map((entry: { result: { structuredContent: { reason: string } } }) => entry.result.structuredContent.reason)).toEqual(
    Array(4).fill('too_many_devices'),
  );
  for (const id of lamps) expect(server.sims.get(id)!.state.on).toBe(false);
});

test("a conversation's devices count across its requests", async () => {
  const key = await server.key(admin, 'chatter', { inference: true, devices: '*' });
  upstream.play([{ calls: lamps.slice(0, 3).map((id) => ({ name: `${id}__set_brightness`, arguments: { value: 61 } })) }, { text: 'ok' }]);
  const first = await server.api(key, 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'three' }],
    nimbus: { devices: true, conversation: 'c-cap' },
  });
  expect(first.body.nimbus.actions.map((action: { status: string }) => action.status)).toEqual(['acked', 'acked', 'acked']);
  upstream.play([{ calls: [{ name: 'lamp-4__set_brightness', arguments: { value: 61 } }] }, { text: 'ok' }]);
  const second = await server.api(key, 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'one more' }],
    nimbus: { devices: true, conversation: 'c-cap' },
  });
  expect(second.body.nimbus.actions).toEqual([expect.objectContaining({ status: 'denied', reason: 'too_many_devices' })]);
  expect(server.sims.get('lamp-4')!.state.brightness).not.toBe(61);
});

test('a key makes at most 10 actuations a minute, across MCP sessions and REST', async () => {
  const key = await server.key(admin, 'busy', { devices: '*' });
  const statuses: string[] = [];
  const one = await mcpSession(server, key);
  for (const [index, id] of ['lamp-1', 'lamp-2', 'lamp-1', 'lamp-2', 'lamp-1', 'lamp-2'].entries()) {
    statuses.push((await one.rpc('tools/call', { name: `${id}__set_brightness`, arguments: { value: 10 + index } })).body.result.structuredContent.status);
  }
  // Re-initialising the session does not reset the count.
  const two = await mcpSession(server, key);
  for (const [index, id] of ['lamp-3', 'lamp-4', 'lamp-3', 'lamp-4', 'lamp-3'].entries()) {
    statuses.push((await two.rpc('tools/call', { name: `${id}__set_brightness`, arguments: { value: 20 + index } })).body.result.structuredContent.status);
  }
  expect(statuses).toEqual([...Array(10).fill('acked'), 'denied']);
  const rest = await server.api(key, 'PUT', '/v1/devices/lamp-4/properties/brightness', { value: 33 });
  expect([rest.status, rest.body.error.message]).toEqual([429, expect.stringMatching(/actuations in the last minute/)]);
  expect(server.sims.get('lamp-4')!.state.brightness).not.toBe(33);
});
