/**
 * The device tool loop through a real Nimbus (`startNimbus`: llama.cpp engine, SQLite, embedded
 * MQTT broker) with the real tiny model stories260K. It cannot reason, but its tool calls are
 * valid JSON by grammar, so the loop runs end to end: the model proposes, the policy decides,
 * the device acts and answers, and the audit log has every step.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { eventually } from './support/devices.js';
import { skipWithoutSharedModel } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

describe.skipIf(skip)('device tools with stories260K', () => {
  let server: TestServer;
  const sims: VirtualDevice[] = [];

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes; the assertions check them
  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, ...((await response.json()) as object) };
  }

  beforeAll(async () => {
    server = await startTestServer({ contextSize: 1024 });
    const broker = await api('GET', '/v1/mqtt');
    // stories260K has 512 tokens of context: the dial is a one-property device whose two tools fit in it.
    const dial = { title: 'Dial', properties: { target: { type: 'number', minimum: 5, maximum: 30 } } };
    for (const [kind, id, model] of [
      ['lamp', 'lamp-1', simCatalog.lamp.model],
      ['thermostat', 'dial-1', dial],
    ] as const) {
      const registered = await api('PUT', `/v1/devices/${id}`, { model });
      sims.push(
        await VirtualDevice.start({ url: broker.url, topicRoot: broker.topic_root, tenantId: 'default', deviceId: id, secret: registered.secret, kind }),
      );
    }
    await eventually(async () => expect((await api('GET', '/v1/devices/dial-1/twin')).connection).toBe('online'));
  });
  afterAll(async () => {
    for (const sim of sims) await sim.stop();
    await server?.stop();
  });

  test('a named tool call is valid by grammar, executed, acked, and audited with the model', async () => {
    const body = await api('POST', '/v1/chat/completions', {
      model: 'stories',
      messages: [{ role: 'user', content: 'Make the lamp brighter.' }],
      temperature: 0,
      max_tokens: 120,
      tool_choice: { type: 'function', function: { name: 'lamp-1__set_brightness' } },
      nimbus: { devices: ['lamp-1'], conversation: 'stories-1', max_steps: 1 },
    });
    expect(body.status, JSON.stringify(body)).toBe(200);
    const [action] = body.nimbus.actions;
    expect(action).toMatchObject({ tool: 'lamp-1__set_brightness', device: 'lamp-1', status: 'acked' });
    expect(Number.isInteger(action.input) && action.input >= 0 && action.input <= 100).toBe(true);
    expect(sims[0]!.state.brightness).toBe(action.input);
    expect(action.state_after.brightness).toBe(action.input);
    expect(typeof body.choices[0].message.content).toBe('string');
    const audit = await api('GET', '/v1/audit?conversation=stories-1');
    expect(audit.data.map((entry: { event: string }) => entry.event).reverse()).toEqual(['proposal', 'execution', 'outcome']);
    expect(audit.data.every((entry: { model: string; actor: string }) => entry.model === 'stories')).toBe(true);
  });

  test('with tool_choice required, whatever the model picks, the policy decides', async () => {
    const body = await api('POST', '/v1/chat/completions', {
      model: 'stories',
      messages: [{ role: 'user', content: 'It is cold.' }],
      temperature: 0,
      max_tokens: 120,
      tool_choice: 'required',
      nimbus: { devices: ['dial-1'], conversation: 'stories-2', max_steps: 1 },
    });
    expect(body.status, JSON.stringify(body)).toBe(200);
    const [action] = body.nimbus.actions;
    expect(['dial-1__get', 'dial-1__set_target']).toContain(action.tool);
    // The dial's range (5-30, a number) is checked by the server: a grammar cannot enforce it.
    if (action.tool === 'dial-1__set_target') {
      const inRange = action.input >= 5 && action.input <= 30;
      expect(action).toMatchObject(inRange ? { status: 'acked' } : { status: 'denied', reason: 'invalid_input' });
    } else expect(action.status).toBe('read');
    const audit = await api('GET', '/v1/audit?conversation=stories-2');
    expect(audit.data.length).toBeGreaterThanOrEqual(1);
  });
});
