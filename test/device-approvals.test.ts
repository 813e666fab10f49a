/**
 * Who may approve (issue 17, item 3), through `nimbus serve` processes, their embedded broker and
 * virtual devices: the key that asked is refused; a critical command needs two grants from two
 * other keys; an MCP approval response never counts; an emergency stop voids approvals given or
 * pending before it; approval requests are rate limited per key; local mode approves only from
 * the CLI (recorded `self_approved_local`), and its README demo works.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from './support/devices.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startSafetyServer, type SafetyServer } from './support/safety-rig.js';
import { repoRoot } from './support/shared-model.js';

const cli = join(repoRoot, 'dist', 'cli', 'main.js');

function nimbus(url: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NIMBUS_URL: url, NIMBUS_API_KEY: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

afterAll(killNimbusProcesses);

describe('with keys', () => {
  let server: SafetyServer;
  let asker: string;
  let second: string;
  let third: string;
  let flooder: string;

  beforeAll(async () => {
    server = await startSafetyServer();
    asker = await server.key(undefined, 'asker', { admin: true, devices: '*' });
    second = await server.key(asker, 'second', { admin: true, devices: '*' });
    third = await server.key(asker, 'third', { admin: true, devices: '*' });
    flooder = await server.key(asker, 'flooder', { devices: ['lock-1'] });
    await server.addSim(asker, 'lock', 'lock-1');
    await server.addSim(asker, 'robot', 'arm-1');
    await eventually(async () => expect((await server.api(asker, 'GET', '/v1/devices/arm-1/twin')).body.connection).toBe('online'));
  }, 60_000);
  afterAll(async () => server?.stop());

  const unlock = (approval?: string) =>
    server.api(asker, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 5 }, ...(approval ? { approval } : {}) });

  test('the key that asked cannot grant its own command; another admin can', async () => {
    const asked = await unlock();
    expect(asked.status).toBe(202);
    const own = await server.api(asker, 'POST', `/v1/approvals/${asked.body.approval}/grant`);
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/cannot approve its own command/);
    expect(own.headers.get('x-should-retry')).toBe('false');
    expect((await unlock(asked.body.approval)).body).toMatchObject({ error: { code: 'permission_denied' } });
    expect(server.sims.get('lock-1')!.state.locked).toBe(true);
    const granted = await server.api(second, 'POST', `/v1/approvals/${asked.body.approval}/grant`);
    expect(granted.body).toMatchObject({ status: 'granted', grants: [expect.stringMatching(/^key:key_/)], grants_needed: 1 });
    expect((await unlock(asked.body.approval)).body).toMatchObject({ status: 'acked', state_after: { locked: false } });
    const audit = await server.api(second, 'GET', `/v1/audit?event=denial&limit=50`);
    expect(
      audit.body.data.some(
        (entry: { approval: string; detail: { reason: string } }) => entry.approval === asked.body.approval && entry.detail.reason === 'approval_refused',
      ),
    ).toBe(true);
    await server.api(asker, 'POST', '/v1/devices/lock-1/actions/lock', {});
  });

  test('a critical command needs grants from two distinct keys, neither the asker', async () => {
    const move = (approval?: string) =>
      server.api(asker, 'POST', '/v1/devices/arm-1/actions/move_to', { input: { x: 10, y: 20, z: 30 }, ...(approval ? { approval } : {}) });
    const asked = await move();
    expect(asked.body).toMatchObject({ status: 'approval_required', risk: 'critical' });
    const id = asked.body.approval as string;
    expect((await server.api(second, 'POST', `/v1/approvals/${id}/grant`)).body).toMatchObject({
      status: 'requested',
      grants: [expect.any(String)],
      grants_needed: 2,
    });
    const again = await server.api(second, 'POST', `/v1/approvals/${id}/grant`);
    expect([again.status, again.body.error.message]).toEqual([403, expect.stringMatching(/second admin/)]);
    expect((await move(id)).body).toMatchObject({ error: { message: expect.stringMatching(/not been granted/) } });
    expect((await server.api(asker, 'POST', `/v1/approvals/${id}/grant`)).status).toBe(403);
    expect((await server.api(third, 'POST', `/v1/approvals/${id}/grant`)).body).toMatchObject({
      status: 'granted',
      grants: [expect.any(String), expect.any(String)],
    });
    expect((await move(id)).body).toMatchObject({ status: 'acked', state_after: { position: { x: 10, y: 20, z: 30 } } });
  });

  test('an MCP approval response never counts as an approval', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const rpc = async (session: string | undefined, message: unknown) =>
      server.api(asker, 'POST', '/mcp', message, { ...headers, ...(session ? { 'mcp-session-id': session } : {}) });
    const init = await rpc(undefined, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const session = init.headers.get('mcp-session-id')!;
    const asked = await rpc(session, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'lock-1__do_unlock', arguments: { seconds: 5 } } });
    const approval = asked.body.result.structuredContent.approval_id as string;
    const response = await rpc(session, { jsonrpc: '2.0', id: 3, method: 'mcp_approval_response', params: { approval_request_id: approval, approve: true } });
    expect(response.body.error.message).toMatch(/only by a person/);
    expect((await server.api(second, 'GET', `/v1/approvals/${approval}`)).body.status).toBe('requested');
    const retried = await rpc(session, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'lock-1__do_unlock', arguments: { seconds: 5 }, _meta: { 'nimbus/approvals': [approval] } },
    });
    expect(retried.body.result.structuredContent).toMatchObject({ status: 'denied', reason: 'approval_not_granted' });
    expect(server.sims.get('lock-1')!.state.locked).toBe(true);
    const audit = await server.api(second, 'GET', '/v1/audit?event=denial&limit=50');
    expect(audit.body.data.some((entry: { detail: { reason: string } }) => entry.detail.reason === 'approval_in_model_output')).toBe(true);
  });

  test('an emergency stop voids approvals granted or pending before it', async () => {
    const granted = (await unlock()).body.approval as string;
    await server.api(second, 'POST', `/v1/approvals/${granted}/grant`);
    const pending = (await server.api(asker, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 7 } })).body.approval as string;
    expect((await server.api(second, 'POST', '/v1/estop', { reason: 'drill' })).status).toBe(200);
    expect((await server.api(second, 'DELETE', '/v1/estop')).status).toBe(200);
    const used = await unlock(granted);
    expect(used.body.error.message).toMatch(/voided by an emergency stop/);
    expect(server.sims.get('lock-1')!.state.locked).toBe(true);
    expect((await server.api(second, 'GET', `/v1/approvals/${pending}`)).body.status).toBe('void');
    expect((await server.api(second, 'POST', `/v1/approvals/${pending}/grant`)).status).toBe(409);
    const audit = await server.api(second, 'GET', '/v1/audit?event=approvals_voided');
    expect(audit.body.data[0].detail.approvals).toEqual(expect.arrayContaining([granted, pending]));
  });

  test('approval requests are rate limited per key', async () => {
    const ask = (seconds: number) => server.api(flooder, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds } });
    // The default: 10 a minute.
    for (let seconds = 11; seconds <= 20; seconds += 1) expect((await ask(seconds)).status).toBe(202);
    const refused = await ask(21);
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/approvals in the last minute/);
    expect(
      (await server.api(second, 'GET', '/v1/approvals?status=requested')).body.data.filter(
        (entry: { input: { seconds: number } }) => entry.input.seconds === 21,
      ),
    ).toEqual([]);
    // Another key is not held back by this one.
    expect((await server.api(asker, 'POST', '/v1/devices/lock-1/actions/unlock', { input: { seconds: 22 } })).status).toBe(202);
  });
});

describe('local mode (one principal)', () => {
  let server: SafetyServer;

  beforeAll(async () => {
    server = await startSafetyServer();
    await server.addSim(undefined, 'lock', 'lock-1');
    await eventually(async () => expect((await server.api(undefined, 'GET', '/v1/devices/lock-1/twin')).body.connection).toBe('online'));
  }, 60_000);
  afterAll(async () => server?.stop());

  test("the README's demo: a person approves at the CLI, recorded as self_approved_local; a bare API grant is refused", async () => {
    const asked = await nimbus(server.url, 'devices', 'invoke', 'lock-1', 'unlock', '{"seconds":10}');
    expect(asked.code).toBe(3);
    const approval = /nimbus approvals grant (apr_\w+)/.exec(asked.stdout)![1]!;
    const bare = await server.api(undefined, 'POST', `/v1/approvals/${approval}/grant`);
    expect(bare.status).toBe(403);
    expect(bare.body.error.message).toMatch(/only by a person at the CLI/);
    expect(await nimbus(server.url, 'approvals', 'grant', approval)).toMatchObject({ code: 0, stdout: expect.stringContaining('granted') });
    expect((await server.api(undefined, 'GET', `/v1/approvals/${approval}`)).body).toMatchObject({ decided_by: 'self_approved_local' });
    const done = await nimbus(server.url, 'devices', 'invoke', 'lock-1', 'unlock', '{"seconds":10}', '--approval', approval);
    expect(done.code, done.stderr).toBe(0);
    expect(server.sims.get('lock-1')!.state.locked).toBe(false);
    const audit = await server.api(undefined, 'GET', '/v1/audit?event=approval_granted');
    expect(audit.body.data[0].detail).toMatchObject({ self_approved_local: true, channel: 'cli' });
  });
});
