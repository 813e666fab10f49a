/** `nimbus worker`: join a control plane's pool and run the replicas it places here. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import type { GpuChoice } from '../engines/llama/llama-engine.js';
import { startWorker } from '../main.js';

export const workerUsage = `Usage: nimbus worker --join URL --token TOKEN [options]

Joins the pool of the control plane at URL (a 'nimbus serve'), reports this machine's hardware,
beats every few seconds and runs the model replicas placed on it, fetching model files from the
control plane. Its own OpenAI-compatible server answers the control plane only.

Options:
      --join URL[,URL]  the control plane, or several sharing one store: it beats through whichever answers (NIMBUS_JOIN_URL)
      --token TOKEN     a join token from 'nimbus workers token' (NIMBUS_JOIN_TOKEN; the variable keeps it out of process lists)
      --name NAME       this worker's name in the pool (default: the host name)
      --host HOST       address to bind (default 127.0.0.1; the control plane must reach it)
  -p, --port PORT       port (default 8090; 0 = any free port)
      --home DIR        model files and request log (NIMBUS_HOME, default ~/.cache/nimbus-worker)
      --threads N       CPU threads per model, 0 = all (default 0)
      --gpu MODE        auto | cpu | cuda | vulkan | metal (default auto)
      --max-queue N     requests that may wait for a slot, per replica (default 64)
      --prompt-cache MIB evicted slot states kept in RAM per replica for prefix reuse, 0 = off (NIMBUS_PROMPT_CACHE_MIB, default 512)
      --log-level LEVEL fatal | error | warn | info | debug | silent (default info)`;

const gpuChoices = ['auto', 'cpu', 'cuda', 'vulkan', 'metal'];

/** Runs `nimbus worker` until SIGTERM or SIGINT; returns the exit code. */
export async function workerCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        join: { type: 'string' },
        token: { type: 'string' },
        name: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        home: { type: 'string' },
        threads: { type: 'string' },
        gpu: { type: 'string' },
        'max-queue': { type: 'string' },
        'prompt-cache': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const values = parsed.values;
  if (values.help) {
    console.log(workerUsage);
    return 0;
  }
  const controlPlane = values.join ?? environment.NIMBUS_JOIN_URL;
  const token = values.token ?? environment.NIMBUS_JOIN_TOKEN;
  if (!controlPlane || !controlPlane.split(',').every((address) => /^https?:\/\/./.test(address.trim())))
    return usageError('give the control plane with --join http://HOST:PORT (several: --join http://A:8080,http://B:8080)');
  if (!token) return usageError("give a join token with --token (create one on the control plane with 'nimbus workers token')");
  const gpu = values.gpu ?? 'auto';
  if (!gpuChoices.includes(gpu)) return usageError(`--gpu must be one of ${gpuChoices.join(', ')}`);
  const numbers: Record<string, number> = {};
  for (const [flag, fallback] of [
    ['port', 8090],
    ['threads', 0],
    ['max-queue', 64],
    ['prompt-cache', 512],
  ] as const) {
    const text = values[flag] ?? (flag === 'prompt-cache' ? environment.NIMBUS_PROMPT_CACHE_MIB : undefined);
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value < 0) return usageError(`--${flag} must be a whole number, got '${text}'`);
    numbers[flag] = value;
  }
  const worker = await startWorker({
    controlPlane,
    token,
    name: values.name ?? hostname().replace(/[^\w.-]/g, '-'),
    host: values.host ?? '127.0.0.1',
    port: numbers.port!,
    home: values.home ?? environment.NIMBUS_HOME ?? join(homedir(), '.cache', 'nimbus-worker'),
    gpu: gpu as GpuChoice,
    threads: numbers.threads!,
    maxQueue: numbers['max-queue']!,
    promptCacheMiB: numbers['prompt-cache']!,
    logLevel: values['log-level'] ?? environment.NIMBUS_LOG_LEVEL ?? 'info',
  });
  // The line a person (and a script waiting for the port) looks for.
  console.error(`Nimbus worker ${worker.name} listening on ${worker.url}, joined ${controlPlane}`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void worker.shutdown().then(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function usageError(message: string): number {
  console.error(`error: ${message}. 'nimbus worker --help' shows the usage.`);
  return 2;
}
