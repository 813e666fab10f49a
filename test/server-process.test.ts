/**
 * `nimbus serve` as a real process: it starts, serves, and on SIGTERM stops accepting, lets a
 * running stream finish, and exits 0. Also: offline with no model, it still starts and says how
 * to add one; a bad config value is refused with the fix.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess, waitReady } from './support/nimbus-process.js';
import { repoRoot, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const cli = join(repoRoot, 'dist', 'cli', 'main.js');

afterEach(killNimbusProcesses);

describe('nimbus serve process', () => {
  test.skipIf(skipWithoutSharedModel())('SIGTERM lets a running stream finish, refuses new work, then exits 0', async () => {
    const { child, url } = await startNimbusProcess(['--model', storiesPath!, '--threads', '1', '--ctx', '512']);
    await waitReady(url);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const response = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 300, temperature: 0, stream: true }),
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    child.kill('SIGTERM');
    let rest = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('"finish_reason":"length"');
    expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  test('offline with no model: starts, is ready for a load balancer, /readyz says why no model serves, chat is a 503 naming the command', async () => {
    const { child, url } = await startNimbusProcess([]);
    // The default model's download fails at once (the endpoint is a closed port).
    let ready: { status: string; models_ready?: boolean; models_reason?: string } = { status: '' };
    let code = 0;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const response = await fetch(`${url}/readyz`);
      code = response.status;
      ready = (await response.json()) as typeof ready;
      if (ready.models_reason?.includes('nimbus pull')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Ready whatever its models hold: a load balancer routes to it (the pool, the admin API, the console).
    expect(code).toBe(200);
    expect(ready.status).toBe('ready');
    expect(ready.models_ready).toBe(false);
    expect(ready.models_reason).toContain('nimbus pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf');
    const models = await (await fetch(`${url}/v1/models`)).json();
    expect(models).toEqual({ object: 'list', data: [] });
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'anything', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(chat.status).toBe(503);
    const body = (await chat.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('no_model');
    expect(body.error.message).toContain('nimbus pull hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF');
    child.kill('SIGTERM');
  });

  test('after the build, `npx nimbus` runs the CLI: the bin package.json names, with its shebang and executable bit', async () => {
    const { bin } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(bin.nimbus).toBe('dist/cli/main.js');
    expect(readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // Checked before npx runs it (npx sets the bit itself when it links a bin): the build must.
    expect(statSync(cli).mode & 0o111).toBe(0o111);
    const child = spawn('npx', ['--no-install', 'nimbus', '--help'], { cwd: repoRoot });
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
    expect(stdout).toContain('Usage: nimbus COMMAND');
  });

  test('a bad config value is refused with its source and the fix', async () => {
    const child = spawn(process.execPath, [cli, 'serve', '--port', 'eighty'], { env: { ...process.env, NIMBUS_GPU: 'quantum' } });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("'port' (from command-line flags)");
    expect(stderr).toContain('use a port number');
    expect(stderr).toContain("'gpu' (from environment)");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
