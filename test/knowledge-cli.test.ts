/**
 * `nimbus files` and `nimbus stores` against a real server: upload, create a store from local
 * files with attributes and a progress bar, search it, and a file that fails says why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { progressLine } from '../src/cli/progress-bar.js';
import { parseAttributes } from '../src/cli/stores.js';
import { killNimbusProcesses, startNimbusProcess } from './support/nimbus-process.js';
import { repoRoot } from './support/shared-model.js';

afterAll(killNimbusProcesses);

function nimbus(url: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), ...args], {
    env: { ...process.env, NIMBUS_URL: url },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('progress lines and attribute flags', () => {
  expect(progressLine(1, 4, 'indexed', 8)).toBe('[##......] 1/4 indexed');
  expect(parseAttributes(['year=2024', 'open=true', 'team=ml', 'code=007x'])).toEqual({ year: 2024, open: true, team: 'ml', code: '007x' });
  expect(() => parseAttributes(['oops'])).toThrow(/KEY=VALUE/);
});

test('files upload and list; stores create from local files, search, and say why a file failed', async () => {
  const server = await startNimbusProcess([]);
  const folder = mkdtempSync(join(tmpdir(), 'nimbus-kb-cli-'));
  writeFileSync(join(folder, 'whales.md'), '# Whales\n\nBlue whales eat krill.');
  writeFileSync(join(folder, 'lava.txt'), 'Volcanoes erupt lava.');
  // A PDF cut off after its header: PDF.js cannot read it.
  writeFileSync(join(folder, 'paper.pdf'), '%PDF-1.4');

  const uploaded = nimbus(server.url, ['files', 'upload', join(folder, 'lava.txt')]);
  expect(uploaded.code).toBe(0);
  expect(uploaded.stdout).toContain('lava.txt');
  expect(nimbus(server.url, ['files']).stdout).toContain('lava.txt');

  const created = nimbus(server.url, ['stores', 'create', 'nature', join(folder, 'whales.md'), join(folder, 'lava.txt'), '--attr', 'year=2024']);
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/created vs_\S+ \(nature\)/);
  expect(created.stderr).toContain('2/2 indexed');
  const storeId = /created (vs_\S+)/.exec(created.stdout)![1]!;

  const found = nimbus(server.url, ['stores', 'search', storeId, 'blue', 'whales', '--json']);
  expect(found.code).toBe(0);
  const hits = JSON.parse(found.stdout) as Array<{ filename: string; attributes: Record<string, unknown> }>;
  expect(hits[0]).toMatchObject({ filename: 'whales.md', attributes: { year: 2024 } });
  expect(nimbus(server.url, ['stores']).stdout).toContain('nature');

  const failed = nimbus(server.url, ['stores', 'add', storeId, join(folder, 'paper.pdf')]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('1 failed');
  expect(failed.stderr).toMatch(/failed file-\S+: 'paper.pdf' is not a readable PDF/);
  expect(nimbus(server.url, ['stores', 'rm', storeId]).code).toBe(0);
  await server.stop();
});
