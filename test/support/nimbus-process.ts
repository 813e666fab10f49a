/**
 * `nimbus serve` from dist/ as a child process (run `npm run build` first): for tests that need
 * a second server (a real upstream) or the process's whole output (what it logs).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './shared-model.js';

export interface NimbusProcess {
  url: string;
  /** Its home folder (its SQLite database is `nimbus.db` there). */
  home: string;
  /** The process itself, for tests that signal it or wait for its exit code. */
  child: ChildProcessWithoutNullStreams;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

const started: ChildProcessWithoutNullStreams[] = [];

/** SIGKILLs every process started here that is still running (for afterEach/afterAll). */
export function killNimbusProcesses(): void {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * Starts `nimbus serve ARGS` on a free port with its own home (or `home`: a restart of a process
 * that used it), no devices; resolves once it listens.
 */
export function startNimbusProcess(
  args: string[],
  environment: Record<string, string> = {},
  home = mkdtempSync(join(tmpdir(), 'nimbus-process-')),
): Promise<NimbusProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--home', home, '--gpu', 'cpu', ...args], {
    env: { ...process.env, NIMBUS_HF_ENDPOINT: 'http://127.0.0.1:9', NIMBUS_MQTT_URL: 'off', ...environment },
  });
  started.push(child);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let listening = false;
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /listening on (http:\/\/[\d.:]+)/i.exec(output);
      if (!match || listening) return;
      listening = true;
      resolve({
        url: match[1]!,
        home,
        child,
        output: () => output,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          rmSync(home, { recursive: true, force: true });
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!listening) reject(new Error(`nimbus serve exited with ${code}: ${output}`));
    });
  });
}

/** Polls /readyz until the server's models are loaded. */
export async function waitReady(url: string): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const response = await fetch(`${url}/readyz`);
    if (response.ok && ((await response.json()) as { models_ready: boolean }).models_ready) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${url} never became ready`);
}
