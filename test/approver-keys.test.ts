/**
 * Approver keys (issue 23, the in-car assistant's confirm control): a key with
 * `scopes.approvals` and nothing else lists and decides the approvals of its devices, through a
 * `nimbus serve` process with its embedded broker and virtual locks. It sees and decides no other
 * device's approvals, and gets 403 on inference and on the admin API; a key with inference and a
 * device scope but no approvals scope cannot approve.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, startScriptedUpstream, type SafetyServer, type ScriptedUpstream } from './support/safety-rig.js';

let upstream: ScriptedUpstream;
let server: SafetyServer;
let operator: string;
let asker: string;
let approver: string;
let inference: string;

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  server = await startSafetyServer({ upstream });
  operator = await server.key(undefined, 'operator', { admin: true, devices: '*' });
  asker = await server.key(operator, 'asker', { devices: ['lock-1', 'lock-2'] });
  approver = await server.key(operator, 'lock-1-confirm', { inference: false, admin: false, models: [], devices: [], approvals: ['lock-1'] });
  inference = await server.key(operator, 'head-unit', { devices: ['lock-1'] });
  await server.addSim(operator, 'lock', 'lock-1');
  await server.addSim(operator, 'lock', 'lock-2');
  await eventually(async () => expect((await server.api(operator, 'GET', '/v1/devices/lock-2/twin')).body.connection).toBe('online'));
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await upstream?.close();
  killNimbusProcesses();
});

const unlock = (device: string, approval?: string) =>
  server.api(asker, 'POST', `/v1/devices/${device}/actions/unlock`, { input: { seconds: 5 }, ...(approval ? { approval } : {}) });

test('the approver lists and grants the approvals of its device, and only those; the asker then presents the grant', async () => {
  const first = (await unlock('lock-1')).body.approval as string;
  const other = (await unlock('lock-2')).body.approval as string;
  const listed = await server.api(approver, 'GET', '/v1/approvals?status=requested');
  expect(listed.status).toBe(200);
  const ids = listed.body.data.map((approval: { id: string }) => approval.id);
  expect(ids).toContain(first);
  expect(ids).not.toContain(other);
  // Another device's approval does not exist for it, read or decided.
  expect((await server.api(approver, 'GET', `/v1/approvals/${other}`)).status).toBe(404);
  expect((await server.api(approver, 'POST', `/v1/approvals/${other}/grant`)).status).toBe(404);
  expect((await server.api(operator, 'GET', `/v1/approvals/${other}`)).body.status).toBe('requested');
  const granted = await server.api(approver, 'POST', `/v1/approvals/${first}/grant`);
  expect(granted.body).toMatchObject({ status: 'granted', device: 'lock-1' });
  expect((await unlock('lock-1', first)).body).toMatchObject({ status: 'acked', state_after: { locked: false } });
  const audit = await server.api(operator, 'GET', '/v1/audit?event=approval_granted');
  const keyId = (await server.api(operator, 'GET', '/v1/keys')).body.data.find((key: { name: string }) => key.name === 'lock-1-confirm').id;
  expect(audit.body.data.some((entry: { approval: string; key: string }) => entry.approval === first && entry.key === keyId)).toBe(true);
  await server.api(operator, 'POST', '/v1/devices/lock-1/actions/lock', {});
});

test('the approver gets 403 on inference and on the admin API, and commands no device', async () => {
  const chat = await server.api(approver, 'POST', '/v1/chat/completions', { model: 'scripted', messages: [{ role: 'user', content: 'hi' }] });
  expect(chat.status).toBe(403);
  const responses = await server.api(approver, 'POST', '/v1/responses', { model: 'scripted', input: 'hi' });
  expect(responses.status).toBe(403);
  for (const [method, path] of [
    ['GET', '/v1/keys'],
    ['GET', '/v1/audit'],
    ['GET', '/v1/taints'],
    ['DELETE', '/v1/estop'],
    ['POST', '/v1/apps'],
  ] as const)
    expect([method, path, (await server.api(approver, method, path, method === 'POST' ? { name: 'x', model: 'scripted' } : undefined)).status]).toEqual([
      method,
      path,
      403,
    ]);
  // Its device scope is empty: the lock does not exist for it.
  expect((await server.api(approver, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 5 } })).status).toBe(404);
  // And it cannot mint itself a wider key.
  expect((await server.api(approver, 'POST', '/v1/keys', { name: 'wider', scopes: { inference: false, approvals: '*' } })).status).toBe(403);
});

test('a key with inference and the device in scope, but no approvals scope, cannot approve', async () => {
  const asked = (await unlock('lock-1')).body.approval as string;
  const refused = await server.api(inference, 'POST', `/v1/approvals/${asked}/grant`);
  expect(refused.status).toBe(403);
  expect(refused.body.error.message).toMatch(/admin scope or an approvals scope/);
  expect((await server.api(inference, 'GET', '/v1/approvals')).status).toBe(403);
  expect((await server.api(operator, 'GET', `/v1/approvals/${asked}`)).body.status).toBe('requested');
});
