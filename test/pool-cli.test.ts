/**
 * The pool commands of the built CLI against a real server: `nimbus workers token`, `nimbus
 * deploy` (fixed or autoscaling), `nimbus deployments list|explain|scale|rm` and `nimbus workers
 * list|drain`, with the exit codes scripts rely on (0 done, 1 refused by the server, 2 bad usage).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { repoRoot } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const cli = join(repoRoot, 'dist', 'cli', 'main.js');
let server: TestServer;
let modelPath: string;

function nimbus(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, NIMBUS_URL: server.url, NIMBUS_API_KEY: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  server = await startTestServer({ models: [] });
  modelPath = join(server.home, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath);
});
afterAll(async () => {
  await server?.stop();
});

test('tokens, deployments and workers from the command line', async () => {
  const token = await nimbus('workers', 'token');
  expect(token.code).toBe(0);
  expect(token.stdout.trim()).toMatch(/^nmj_[\w-]{43}$/);
  expect(token.stderr).toContain('shown once');

  expect(await nimbus('deploy', modelPath, '--replicas', 'two')).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--replicas must be a whole number'),
  });
  expect(await nimbus('deploy', modelPath, '--routing', 'fastest')).toMatchObject({ code: 1, stderr: expect.stringContaining('round-robin') });

  expect(await nimbus('deploy', modelPath, '--spare-slots', 'one')).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--spare-slots must be a whole number'),
  });
  expect(await nimbus('deploy', modelPath, '--spare-slots', '257')).toMatchObject({ code: 1, stderr: expect.stringContaining('spare_slots') });
  // Spare slots default to 1 (decision 0017): the SLOTS column shows slots+spares.
  const deployed = await nimbus('deploy', modelPath, '--name', 'tiny', '--replicas', '1', '--device', 'cpu', '--ctx', '128', '--slots', '1');
  expect(deployed.code).toBe(0);
  expect(deployed.stdout).toMatch(/tiny\s+0\s+0\s+1\s+-\s+cpu\s+128\s+1\+1\s+estimated-ttft/);
  expect(deployed.stdout).toContain('the pool has no workers');

  const explained = await nimbus('deployments', 'explain', 'tiny');
  expect(explained.code).toBe(0);
  expect(explained.stdout).toContain('tiny: 0 of 1 replicas placed (');
  expect(explained.stdout).toContain('slots 1 + 1 spare, device cpu)');
  expect(explained.stdout).toContain('nimbus worker --join URL --token TOKEN');

  expect((await nimbus('deployments', 'scale', 'tiny', '2')).stdout).toMatch(/tiny\s+0\s+0\s+2/);
  expect(await nimbus('workers', 'drain', 'nobody')).toMatchObject({ code: 1, stderr: expect.stringContaining("No worker 'nobody'") });
  expect(await nimbus('deployments', 'rm', 'tiny')).toMatchObject({ code: 0, stdout: expect.stringContaining('Removed deployment tiny') });
  expect(await nimbus('deployments', 'rm', 'tiny')).toMatchObject({ code: 1, stderr: expect.stringContaining("No deployment 'tiny'") });
  expect(await nimbus('deploy', modelPath, '--min', 'none')).toMatchObject({ code: 2, stderr: expect.stringContaining('--min must be a whole number') });
  const autoscaled = await nimbus(
    'deploy',
    modelPath,
    '--name',
    'auto',
    '--min',
    '0',
    '--max',
    '2',
    '--scale-down-ms',
    '5000',
    '--device',
    'cpu',
    '--ctx',
    '128',
    '--spare-slots',
    '0',
  );
  expect(autoscaled.code).toBe(0);
  expect(autoscaled.stdout).toMatch(/auto\s+0\s+0\s+0\s+0-2\s+cpu\s+128\s+4\s+estimated-ttft/);
  const moved = await nimbus('deployments', 'scale', 'auto', '--min', '1', '--max', '3');
  expect(moved.stdout).toMatch(/auto\s+0\s+0\s+1\s+1-3\s+cpu/);
  expect(moved.stdout).toContain('auto: scaled 0 -> 1');
  expect(await nimbus('deployments', 'scale', 'auto', '--min', '4')).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('min_replicas (4) must not exceed max_replicas (3)'),
  });
  const explainedAuto = (await nimbus('deployments', 'explain', 'auto')).stdout;
  expect(explainedAuto).toContain('autoscale: 1 to 3 replicas, target 2 requests per replica');
  expect(explainedAuto).toContain('slots 4, device cpu)');
  expect(await nimbus('deployments', 'scale', 'auto', '--fixed', '--max', '2')).toMatchObject({ code: 2 });
  expect((await nimbus('deployments', 'scale', 'auto', '--fixed')).stdout).toMatch(/auto\s+0\s+0\s+1\s+-\s+cpu/);
  expect((await nimbus('deployments', 'rm', 'auto')).code).toBe(0);
  expect((await nimbus('deployments')).stdout).toContain('No deployments');
  expect((await nimbus('workers')).stdout).toContain('No workers');
});
