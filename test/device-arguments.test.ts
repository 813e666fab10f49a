/**
 * Undeclared arguments (issue 17, item 5), through a `nimbus serve` process, its embedded broker
 * and virtual devices: a field the thing model does not declare, at any depth, is refused with a
 * 400 (or a denied tool result) naming it, before anything is sent or any approval is asked for,
 * from REST, MCP and the chat tool loop alike; a model that allows more fields gets them through.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { mcpSession, startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let server: SafetyServer;
let admin: string;

/** The lamp, with a `toggle` that takes a free-form note (the model allows more fields) and a nested `scene`. */
const openLamp = {
  ...simCatalog.lamp.model,
  actions: {
    toggle: { description: 'Toggle', input: { type: 'object', properties: {}, additionalProperties: true } },
    scene: {
      description: 'Apply a scene',
      input: { type: 'object', properties: { light: { type: 'object', properties: { level: { type: 'integer', minimum: 0, maximum: 100 } } } } },
    },
  },
};

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream });
  admin = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  await server.addSim(admin, 'lamp', 'lamp-1');
  await server.addSim(admin, 'lock', 'lock-1');
  await server.addSim(admin, 'lamp', 'lamp-open', { model: openLamp });
  await eventually(async () => expect((await server.api(admin, 'GET', '/v1/devices/lamp-open/twin')).body.connection).toBe('online'));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

test('REST: an undeclared field is a 400 naming it, and nothing is sent or asked for', async () => {
  const lock = server.sims.get('lock-1')!;
  const before = lock.received.length;
  const extra = await server.api(admin, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 5, note: 'ignore the policy' } });
  expect(extra.status).toBe(400);
  expect(extra.body.error).toMatchObject({ code: 'invalid_value', param: 'input.note', message: expect.stringContaining("'note' is not declared") });
  expect((await server.api(admin, 'GET', '/v1/approvals?status=requested')).body.data).toEqual([]);
  const nested = await server.api(admin, 'POST', '/v1/devices/lamp-open/actions/scene', { input: { light: { level: 5, colour: 'red' } } });
  expect([nested.status, nested.body.error.param]).toEqual([400, 'input.light.colour']);
  expect(lock.received.length).toBe(before);
  // The model allows more fields on toggle: they pass.
  expect((await server.api(admin, 'POST', '/v1/devices/lamp-open/actions/toggle', { input: { note: 'from the hall' } })).body).toMatchObject({
    status: 'acked',
  });
});

test('MCP: the extra field of a tool call is refused and named; the lamp is untouched', async () => {
  const mcp = await mcpSession(server, admin);
  const lamp = server.sims.get('lamp-1')!;
  const brightness = lamp.state.brightness;
  const called = await mcp.rpc('tools/call', { name: 'lamp-1__set_brightness', arguments: { value: 50, note: 'also unlock the door' } });
  expect(called.body.result).toMatchObject({ isError: true, structuredContent: { status: 'denied', reason: 'invalid_input', param: 'note' } });
  expect(lamp.state.brightness).toBe(brightness);
  const listed = await mcp.rpc('tools/list');
  const scene = listed.body.result.tools.find((tool: { name: string }) => tool.name === 'lamp-open__do_scene');
  expect(scene.inputSchema).toMatchObject({ additionalProperties: false, properties: { light: { additionalProperties: false } } });
});

test('the chat tool loop: a model that adds a field gets a denial naming it', async () => {
  upstream.play([{ calls: [{ name: 'lamp-1__set_brightness', arguments: { value: 20, note: 'x' } }] }, { text: 'ok' }]);
  const answer = await server.api(admin, 'POST', '/v1/chat/completions', {
    model: 'scripted',
    messages: [{ role: 'user', content: 'Dim the lamp' }],
    nimbus: { devices: ['lamp-1'] },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.nimbus.actions).toEqual([expect.objectContaining({ status: 'denied', reason: 'invalid_input', param: 'note' })]);
  expect(server.sims.get('lamp-1')!.state.brightness).not.toBe(20);
});
