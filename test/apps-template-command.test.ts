/**
 * The handler of `nimbus apps create --template NAME` (src/cli/apps-template.ts), run in this
 * process against a `nimbus serve` process: it lists the templates, creates an app and its
 * variants from one with its knowledge indexed, and refuses an unknown template or a taken name.
 * And once through `nimbus apps create --template` as a process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { appsTemplateCommand } from '../src/cli/apps-template.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { repoRoot } from './support/shared-model.js';
import { startTemplateRig, type TemplateRig } from './support/template-rig.js';

let rig: TemplateRig;
let environment: NodeJS.ProcessEnv;

beforeAll(async () => {
  rig = await startTemplateRig();
  environment = { NIMBUS_URL: rig.server.url, NIMBUS_API_KEY: rig.operator };
}, 60_000);
afterAll(async () => {
  await rig?.stop();
  killNimbusProcesses();
});

/** Runs the handler; resolves with its exit code and what it printed. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
  const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void err.push(String(line)));
  try {
    const code = await appsTemplateCommand(argv, environment);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

test('lists the templates and creates the tutor with its variants on one indexed store', async () => {
  expect((await run('templates')).out).toMatch(/^game-character +Bram/m);
  const created = await run('create', '--template', 'tutor', '--model', 'scripted', '--name', 'stats-tutor');
  expect(created.code, created.err).toBe(0);
  expect(created.out).toMatch(/uploaded 5 knowledge files into vector store vs_\w+/);
  expect(created.out).toMatch(/created app stats-tutor \(app:stats-tutor, version 1\)/);
  expect(created.out).toMatch(/created app stats-tutor-quiz /);
  const store = (await rig.server.api(rig.operator, 'GET', '/v1/apps/stats-tutor')).body.config.vector_store_ids[0];
  expect((await rig.server.api(rig.operator, 'GET', `/v1/vector_stores/${store}`)).body).toMatchObject({
    name: 'stats-tutor-knowledge',
    file_counts: { completed: 5 },
  });
});

test('an unknown template or a taken name fails with the reason', async () => {
  expect(await run('create', '--template', 'spaceship')).toMatchObject({
    code: 1,
    err: expect.stringMatching(/no template 'spaceship'; there are game-character/),
  });
  await run('create', '--template', 'game-character', '--model', 'scripted');
  const again = await run('create', '--template', 'game-character', '--model', 'scripted');
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/game-character/);
  expect((await run('create')).code).toBe(2);
});

test('nimbus apps create --template, as a process, creates the literature assistant', async () => {
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'dist', 'cli', 'main.js'), 'apps', 'create', '--template', 'literature-assistant', '--model', 'scripted'],
      { env: { ...process.env, ...environment } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/indexed 24 files/);
  expect(result.stdout).toMatch(/created app literature-assistant \(app:literature-assistant, version 1\)/);
});
