/**
 * `nimbus batches` against a real server running stories260K, through real processes: create a
 * batch from a local JSONL file and wait for it with the progress bar (the endpoint taken from
 * the file), list and show it, print its output and error files, and cancel another.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chatLine, jsonl } from './support/batch-rig.js';
import { killNimbusProcesses, startNimbusProcess, waitReady, type NimbusProcess } from './support/nimbus-process.js';
import { repoRoot, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
afterAll(killNimbusProcesses);

const cli = join(repoRoot, 'dist', 'cli', 'main.js');

describe.skipIf(skip)('nimbus batches', () => {
  let server: NimbusProcess;
  let folder: string;
  const nimbus = (args: string[]) => {
    const result = spawnSync(process.execPath, [cli, 'batches', ...args], { env: { ...process.env, NIMBUS_URL: server.url }, encoding: 'utf8' });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    server = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512', '--slots', '2']);
    await waitReady(server.url);
    folder = mkdtempSync(join(tmpdir(), 'nimbus-batches-cli-'));
  }, 120_000);

  afterAll(async () => server?.stop());

  test('create --wait follows the batch to completed; list, show and output read it', async () => {
    const path = join(folder, 'stories.jsonl');
    writeFileSync(path, jsonl([...Array.from({ length: 6 }, (_, index) => chatLine(`story-${index}`)), chatLine('bad', { n: 3 })]));
    // Not a terminal: the bar prints its last state once, on stderr.
    const created = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'batches', 'create', path, '--wait', '--metadata', 'team=ml'], {
        env: { ...process.env, NIMBUS_URL: server.url },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(created.stderr).toContain('7/7 completed (1 failed)');
    expect(created.stdout).toMatch(/created batch_\S+ \(\/v1\/chat\/completions, input file-\S+\)/);
    expect(created.stdout).toMatch(/batch_\S+ completed: output file-\S+, errors file-\S+/);
    expect(created.code).toBe(0);
    const id = /created (batch_\S+)/.exec(created.stdout)![1]!;

    const listed = nimbus([]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+/v1/chat/completions\\s+completed\\s+7/7\\s+1`));
    const shown = JSON.parse(nimbus(['show', id]).stdout) as { metadata: Record<string, string>; request_counts: object };
    expect(shown).toMatchObject({ metadata: { team: 'ml' }, request_counts: { total: 7, completed: 6, failed: 1 } });

    const output = nimbus(['output', id])
      .stdout.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { custom_id: string });
    expect(output.map((line) => line.custom_id).sort()).toEqual(['story-0', 'story-1', 'story-2', 'story-3', 'story-4', 'story-5']);
    const errors = nimbus(['output', id, '--errors']).stdout.trim().split('\n');
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ custom_id: 'bad', response: { status_code: 400 } });
  }, 120_000);

  test('cancel, errors that say what to do, and a file whose endpoint cannot be told', async () => {
    const path = join(folder, 'long.jsonl');
    writeFileSync(path, jsonl(Array.from({ length: 200 }, (_, index) => chatLine(`long-${index}`, { max_tokens: 200 }))));
    const created = nimbus(['create', path, '--endpoint', 'chat']);
    expect(created.code).toBe(0);
    const id = /created (batch_\S+)/.exec(created.stdout)![1]!;
    const early = nimbus(['output', id]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/is (validating|in_progress): its files are written when it ends/);
    const cancelled = nimbus(['cancel', id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`${id} (cancelling|cancelled)`));
    const waited = nimbus(['wait', id]);
    expect(waited.code).toBe(1);
    expect(waited.stdout).toContain(`${id} cancelled`);

    const unknown = join(folder, 'unknown.jsonl');
    writeFileSync(unknown, 'not json\n');
    const refused = nimbus(['create', unknown]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pass --endpoint');
    expect(nimbus(['show']).stderr).toContain('name one batch id');
  }, 120_000);
});
