/**
 * Issue 18, item 4: every refusal of a safety action is audited, one entry stores a bounded
 * amount, and past a per-key rate refusals are counted in one entry per window, never dropped.
 * Through a real `nimbus serve` (embedded broker, virtual devices) and its HTTP API, and across
 * a SIGTERM and a restart on the same home.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { canonicalJson, sha256 } from '../src/devices/canonical-json.js';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { killDeviceProcesses, registerDevice, startDeviceProcess, type DeviceProcess } from './support/device-process.js';
import { callJson } from './support/json-api.js';

afterAll(killDeviceProcesses);

interface Entry {
  event: string;
  actor: string;
  device: string | null;
  approval: string | null;
  detail: Record<string, unknown>;
}

async function keyOf(url: string, operator: string, name: string, scopes: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const answer = await callJson(url, 'POST', '/v1/keys', { name, scopes }, operator);
  expect(answer.status).toBe(201);
  return { key: answer.body.key as string, id: answer.body.id as string };
}

test('refused grants, clears, self-approvals and scope refusals are audited, bounded, and counted past the rate', async () => {
  const config = join(mkdtempSync(join(tmpdir(), 'nimbus-refusals-')), 'nimbus.json');
  // Five refusals a key in full per window; a long window, so the flood's count is written at shutdown.
  writeFileSync(config, JSON.stringify({ audit: { refusalsPerWindow: 5, refusalWindowMs: 600_000 } }));
  const options = { environment: { NIMBUS_CONFIG: config } };
  let server: DeviceProcess = await startDeviceProcess(['--mqtt-port', '0'], options);
  const topicRoot = server.topicRoot!;
  const mqttUrl = server.mqttUrl!;
  const operatorAnswer = await callJson(server.url, 'POST', '/v1/keys', { name: 'operator', scopes: { admin: true, devices: '*' } });
  const operator = operatorAnswer.body.key as string;
  const lamps = await keyOf(server.url, operator, 'lamps', { devices: ['lamp-1'] });
  const none = await keyOf(server.url, operator, 'none', { devices: [] });
  const audit = async (query = ''): Promise<Entry[]> => (await callJson(server.url, 'GET', `/v1/audit?limit=10000${query}`, undefined, operator)).body.data;

  await registerDevice(server.url, operator, 'lamp-1', simCatalog.lamp.model);
  const robotSecret = await registerDevice(server.url, operator, 'robot-1', simCatalog.robot.model);
  const robot = await VirtualDevice.start({
    url: mqttUrl,
    topicRoot,
    tenantId: 'default',
    deviceId: 'robot-1',
    secret: robotSecret,
    kind: 'robot',
    protocol: 4,
  });

  // A critical command the operator asked for: the operator may not grant it itself.
  const asked = await callJson(server.url, 'POST', '/v1/devices/robot-1/actions/move_to', { input: { x: 1, y: 2, z: 3 } }, operator);
  expect(asked.status).toBe(202);
  const approvalId = asked.body.approval as string;
  expect(approvalId).toMatch(/^apr_/);
  expect((await callJson(server.url, 'POST', `/v1/approvals/${approvalId}/grant`, undefined, operator)).status).toBe(403);
  // A key without the admin scope may neither grant nor clear the emergency stop (engaging is allowed).
  expect((await callJson(server.url, 'POST', `/v1/approvals/${approvalId}/grant`, undefined, lamps.key)).status).toBe(403);
  expect((await callJson(server.url, 'POST', '/v1/estop', { reason: 'drill' }, lamps.key)).status).toBe(200);
  expect((await callJson(server.url, 'DELETE', '/v1/estop', undefined, lamps.key)).status).toBe(403);
  expect((await callJson(server.url, 'DELETE', '/v1/estop', undefined, operator)).status).toBe(200);

  const refusals = (await audit('&event=denial')).reverse();
  const actions = refusals.map((entry) => [entry.actor, entry.detail.action, entry.detail.reason, entry.detail.code]);
  expect(actions).toEqual([
    ['key:' + operatorAnswer.body.id, 'grant_approval', 'approval_refused', 'permission_denied'],
    [`key:${lamps.id}`, 'grant_approval', 'approval_refused', 'permission_denied'],
    [`key:${lamps.id}`, 'clear_emergency_stop', 'permission_denied', 'permission_denied'],
  ]);
  expect(refusals[0]!.approval).toBe(approvalId);
  expect(refusals[0]!.detail.message).toMatch(/own command|different key/);

  // Scope refusals by a key with no devices: a read (404) and commands with a large input.
  expect((await callJson(server.url, 'GET', '/v1/devices/lamp-1', undefined, none.key)).status).toBe(404);
  const large = 'x'.repeat(512 * 1024);
  const floods = 30;
  for (let index = 0; index < floods; index += 1) {
    const answer = await callJson(server.url, 'PUT', '/v1/devices/lamp-1/properties/brightness', { value: `${index}${large}` }, none.key);
    expect(answer.status).toBe(404);
  }
  const byNone = (await audit()).filter((entry) => entry.actor === `key:${none.id}`).reverse();
  // Five refusals in full (the read, then four commands: proposal and denial each), the rest counted.
  expect(byNone.map((entry) => entry.event)).toEqual(['denial', 'proposal', 'denial', 'proposal', 'denial', 'proposal', 'denial', 'proposal', 'denial']);
  expect(byNone[0]!.detail).toMatchObject({ action: 'read_device', reason: 'not_found' });
  const proposal = byNone[1]!;
  expect(proposal.detail.input).toEqual({ elided: true, sha256: sha256(canonicalJson(`0${large}`)), bytes: large.length + 3 });
  expect(JSON.stringify(byNone).length).toBeLessThan(20_000);

  // Nothing folded is lost at shutdown: the count is written when the server stops, and read after a restart.
  await robot.stop();
  await server.stop();
  server = await startDeviceProcess(['--mqtt-port', '0'], { ...options, home: server.home });
  const aggregated = (await audit('&event=refusals_aggregated'))[0]!;
  expect(aggregated).toBeDefined();
  expect(aggregated.actor).toBe(`key:${none.id}`);
  expect(aggregated.detail).toMatchObject({
    count: floods - 4,
    events: { proposal: floods - 4, denial: floods - 4 },
    reasons: { out_of_scope: floods - 4 },
    devices: ['lamp-1'],
  });
  expect(aggregated.detail.inputs_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(aggregated.detail.last_at as number).toBeGreaterThanOrEqual(aggregated.detail.first_at as number);
  expect(aggregated.detail.input_chars as number).toBeGreaterThan((floods - 4) * large.length);
  await server.stop();
}, 120_000);
