/**
 * The image's entry point (deploy/container/entrypoint.sh) as a plain process against this
 * checkout's build: what a container runs, without a container runtime.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared-model.js';

export const entrypoint = join(repoRoot, 'deploy', 'container', 'entrypoint.sh');

export interface EntrypointProcess {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** The first match of `pattern` in the output (stdout and stderr), once it appears. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const started: ChildProcessWithoutNullStreams[] = [];

/** SIGKILLs every process started here that still runs (for afterEach). */
export function killEntrypointProcesses(): void {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Runs `sh entrypoint.sh ARGS` with exactly `environment` (plus PATH to this node and
 * NIMBUS_APP_DIR to the checkout), as a container would: nothing of the test's own env leaks in.
 */
export function startEntrypoint(args: string[], environment: Record<string, string>): EntrypointProcess {
  const child = spawn('/bin/sh', [entrypoint, ...args], {
    env: { PATH: `${join(process.execPath, '..')}:/usr/bin:/bin`, NIMBUS_APP_DIR: repoRoot, ...environment },
  });
  started.push(child);
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (data: Buffer): void => {
    output += data.toString();
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output);
          if (!match) return;
          cleanup();
          resolve(match);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} in ${ms} ms; output:\n${output}`));
        }, ms);
        const onExit = (code: number | null): void => {
          cleanup();
          reject(new Error(`exited with ${code} before ${pattern}; output:\n${output}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
