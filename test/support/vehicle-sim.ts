/**
 * `nimbus sim --vehicle` from dist/ as a child process against a server (run `npm run build`
 * first): the car's console is its stdin, what it prints is collected, and `waitFor` waits for a
 * line to appear.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared-model.js';

export interface VehicleSim {
  /** The car's device id. */
  carId: string;
  /** Everything it printed so far. */
  output(): string;
  /** Types one line on the car's console. */
  type(line: string): void;
  /** Resolves with the first match of `pattern` in the output (waiting for it), or throws after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the car against `url` as `key` (undefined: local mode); resolves once it is online. */
export async function startVehicleSim(url: string, key: string | undefined, prefix = 'sim'): Promise<VehicleSim> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'sim', '--vehicle', '--prefix', prefix], {
    env: { ...process.env, NIMBUS_URL: url, NIMBUS_API_KEY: key ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sim: VehicleSim = {
    carId: `${prefix}-vehicle-1`,
    output: () => output,
    type: (line) => child.stdin.write(`${line}\n`),
    async waitFor(pattern, ms = 20_000) {
      const until = Date.now() + ms;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match;
        if (Date.now() > until || child.exitCode !== null) throw new Error(`no ${pattern} in the sim's output:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  await sim.waitFor(/virtual devices on/);
  return sim;
}
