/**
 * A pool as real processes from dist/ (run `npm run build` first): `nimbus worker` children,
 * each with its own port and home, next to a control plane from `startNimbusProcess`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './shared-model.js';

export interface WorkerProcess {
  name: string;
  url: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
}

const started: Array<{ child: ChildProcessWithoutNullStreams; home: string }> = [];

/** SIGKILLs every worker started here that still runs and removes its home (for afterAll). */
export function killWorkerProcesses(): void {
  for (const { child, home } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
}

/** Starts `nimbus worker` joining `controlPlane`; resolves once it listens and has joined. */
export function startWorkerProcess(name: string, controlPlane: string, token: string): Promise<WorkerProcess> {
  const home = mkdtempSync(join(tmpdir(), `nimbus-${name}-`));
  const args = ['worker', '--join', controlPlane, '--name', name, '--port', '0', '--home', home, '--gpu', 'cpu', '--threads', '1', '--log-level', 'warn'];
  // The token goes in the environment, as the usage advises, so it stays out of process lists.
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), ...args], { env: { ...process.env, NIMBUS_JOIN_TOKEN: token } });
  started.push({ child, home });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /listening on (http:\/\/[\d.:]+), joined/.exec(output);
      if (match) resolve({ name, url: match[1]!, child, output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nimbus worker ${name} exited with ${code}: ${output}`)));
  });
}
