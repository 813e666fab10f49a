/**
 * The device commands of the built CLI against a real server, like an operator uses them:
 * `nimbus sim` runs virtual devices; `nimbus devices`, `approvals`, `estop` and `audit` talk to
 * the HTTP API at NIMBUS_URL.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { repoRoot } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const cli = join(repoRoot, 'dist', 'cli', 'main.js');
let server: TestServer;
let sim: ChildProcessWithoutNullStreams;
let simOutput = '';

/** Runs the CLI (asynchronously: the server answering it lives in this process). */
function nimbus(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NIMBUS_URL: server.url, NIMBUS_API_KEY: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  server = await startTestServer();
  sim = spawn(process.execPath, [cli, 'sim', '--devices', 'lamp,lock', '--prefix', 'cli'], { env: { ...process.env, NIMBUS_URL: server.url } });
  await new Promise<void>((resolve, reject) => {
    sim.stdout.on('data', (data: Buffer) => {
      simOutput += data.toString();
      if (simOutput.includes('2 virtual devices')) resolve();
    });
    sim.stderr.on('data', (data: Buffer) => (simOutput += data.toString()));
    sim.once('exit', (code) => reject(new Error(`nimbus sim exited with ${code}: ${simOutput}`)));
  });
});
afterAll(async () => {
  if (sim && sim.exitCode === null) sim.kill('SIGKILL');
  await server?.stop();
});

test('devices, commands, approvals, the emergency stop and the audit log from the command line', async () => {
  const list = await nimbus('devices');
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/cli-lamp-1\s+Lamp\s+low\s+online/);
  expect(list.stdout).toMatch(/cli-lock-1\s+Front door lock\s+high\s+online/);

  const set = await nimbus('devices', 'set', 'cli-lamp-1', 'brightness', '12');
  expect(set.code).toBe(0);
  expect(set.stdout).toMatch(/cli-lamp-1 set brightness: acked/);
  expect(set.stdout).toContain('"brightness":12');
  expect(await nimbus('devices', 'set', 'cli-lamp-1', 'brightness', '120')).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('brightness must be <= 100'),
  });

  const asked = await nimbus('devices', 'invoke', 'cli-lock-1', 'unlock', '{"seconds":5}');
  expect(asked.code).toBe(3);
  const approval = /nimbus approvals grant (apr_\w+)/.exec(asked.stdout)![1]!;
  expect((await nimbus('approvals', '--status', 'requested')).stdout).toContain(approval);
  expect(await nimbus('approvals', 'grant', approval)).toMatchObject({ code: 0, stdout: expect.stringContaining('granted') });
  const unlocked = await nimbus('devices', 'invoke', 'cli-lock-1', 'unlock', '{"seconds":5}', '--approval', approval);
  expect(unlocked.code).toBe(0);
  expect(unlocked.stdout).toContain('"locked":false');
  expect(await nimbus('devices', 'invoke', 'cli-lock-1', 'unlock', '{"seconds":5}', '--approval', approval)).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('already used'),
  });

  expect((await nimbus('estop', 'on', '--reason', 'drill')).stdout).toContain('EMERGENCY STOP ENGAGED: drill');
  expect(await nimbus('devices', 'set', 'cli-lamp-1', 'on', 'true')).toMatchObject({ code: 1, stderr: expect.stringContaining('Emergency stop') });
  expect((await nimbus('estop', 'off')).stdout).toContain('emergency stop clear');
  expect((await nimbus('devices', 'set', 'cli-lamp-1', 'on', 'true')).code).toBe(0);

  const audit = await nimbus('audit', '--device', 'cli-lock-1');
  expect(audit.code).toBe(0);
  for (const event of ['approval_requested', 'approval_granted', 'approval_redeemed', 'execution', 'outcome', 'denial']) expect(audit.stdout).toContain(event);
  expect((await nimbus('devices', 'history', 'cli-lamp-1')).stdout).toContain('reported');
  expect((await nimbus('devices', 'commands', 'cli-lamp-1')).stdout).toMatch(/set brightness\s+12\s+acked/);
  expect(simOutput).toMatch(/cli-lamp-1 <- devices\/cli-lamp-1\/set|cli-lamp-1 <- cli-lamp-1\/set/);

  const stopped = new Promise<number | null>((resolve) => sim.once('exit', resolve));
  sim.kill('SIGINT');
  expect(await stopped).toBe(0);
});

test('bad usage says how to fix it', async () => {
  expect(await nimbus('devices', 'set', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('nimbus devices set ID PROPERTY VALUE') });
  expect(await nimbus('sim', '--devices', 'toaster')).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown device kind 'toaster'") });
  expect(await nimbus('devices', 'show', 'ghost-1')).toMatchObject({ code: 1, stderr: expect.stringContaining("No device 'ghost-1'") });
});
