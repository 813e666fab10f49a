/** Shared pieces of the benchmarks: the model, a server process, SSE consumption, statistics. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** stories260K.gguf, the model every benchmark runs (threads 1, as the figures in the README). */
export function benchModelPath(): string {
  const path = process.env.NIMBUS_BENCH_MODEL ?? resolve(repoRoot, '..', 'shared', 'models', 'stories260K.gguf');
  if (!existsSync(path)) throw new Error(`Benchmark model not found at ${path}; set NIMBUS_BENCH_MODEL to a GGUF file.`);
  return path;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Milliseconds from spawn to the "listening" log line. */
  startMs: number;
  stop(): Promise<void>;
}

/**
 * Starts `nimbus serve` (the built dist/) as a child process and waits until it listens; `nodeArgs` go to node (`--cpu-prof`).
 * `root` is the checkout whose dist/ runs (another build's, for a paired A/B on the same machine state).
 */
export function startServerProcess(args: string[], environment: Record<string, string> = {}, nodeArgs: string[] = [], root = repoRoot): Promise<ServerProcess> {
  const home = mkdtempSync(join(tmpdir(), 'nimbus-bench-'));
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(root, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--home', home, '--gpu', 'cpu', '--log-level', 'info', ...args],
    {
      env: { ...process.env, NIMBUS_HF_ENDPOINT: 'http://127.0.0.1:9', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /Nimbus listening on (http:\/\/[^\s"]+)/.exec(output);
      if (!match) return;
      // Found: stop reading its output into memory (it is still drained, so the child never blocks on a full pipe).
      child.stdout.off('data', onData).resume();
      child.stderr.off('data', onData).resume();
      resolvePromise({
        url: match[1]!,
        pid: child.pid!,
        startMs: performance.now() - started,
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** Polls /readyz until the models are loaded (`models_ready`; a build before it answered 503 until then). */
export async function waitReady(url: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const response = await fetch(`${url}/readyz`);
    if (response.ok && ((await response.json()) as { models_ready?: boolean }).models_ready !== false) return;
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 50));
  }
  throw new Error('server never became ready');
}

/** Streams one completion and returns the tokens generated (from usage) and the seconds it took. */
export function streamCompletion(url: string, body: Record<string, unknown>): Promise<{ tokens: number; seconds: number }> {
  // A lean client (node:http, chunks kept as buffers, parsed once at the end): on a 2-core machine
  // the client shares the CPU with the server, so a heavy one (fetch and web streams cost tens of
  // microseconds per chunk) would be counted against the API.
  const started = performance.now();
  const payload = JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } });
  return new Promise((resolvePromise, reject) => {
    const outgoing = httpRequest(
      `${url}/v1/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode}: ${text}`));
          const seconds = (performance.now() - started) / 1000;
          const usageLine = text.split('\n').find((line) => line.includes('"usage":{'));
          const tokens = usageLine ? (JSON.parse(usageLine.slice('data: '.length)) as { usage: { completion_tokens: number } }).usage.completion_tokens : 0;
          resolvePromise({ tokens, seconds });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/**
 * One POST with a lean client (node:http, nothing parsed: the client shares the CPU with the
 * server): milliseconds to the whole answer, or, with `marker`, to the first chunk containing it
 * (a stream's first text delta). Anything but 200 rejects.
 */
export function timeRequest(url: string, path: string, payload: string, marker?: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const outgoing = httpRequest(
      `${url}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        let first: number | undefined;
        let seen = '';
        response.on('data', (chunk: Buffer) => {
          if (marker === undefined || first !== undefined) return;
          seen += chunk.toString('utf8');
          if (seen.includes(marker)) first = performance.now() - started;
        });
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) return reject(new Error(`${path}: HTTP ${response.statusCode}`));
          resolvePromise(first ?? performance.now() - started);
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

/** Prints a figure line that the README quotes. */
export function report(name: string, figures: Record<string, string | number>): void {
  console.log(
    `${name}: ${Object.entries(figures)
      .map(([key, value]) => `${key}=${typeof value === 'number' ? Number(value.toFixed(3)) : value}`)
      .join(' ')}`,
  );
}

export interface Child {
  url: string;
  process: ChildProcess;
}

/**
 * Spawns a process and waits for its `listening on URL` line, on stdout or stderr. With
 * `logFile`, stdout (Nimbus's request log lines) goes to that file instead of through this
 * process, which also runs the load generator; `environment` is added to this process's.
 */
export function spawnListening(args: string[], logFile?: string, environment: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', logFile ? openSync(logFile, 'w') : 'pipe', 'pipe'],
    env: { ...process.env, ...environment },
  });
  return new Promise((resolve, reject) => {
    let text = '';
    const streams = [child.stdout, child.stderr].filter((stream) => stream !== null);
    const onData = (data: Buffer): void => {
      text += data.toString();
      const match = /listening on (http:\/\/[\d.:]+)/i.exec(text);
      if (!match) return;
      for (const stream of streams) {
        stream.off('data', onData);
        stream.resume();
      }
      resolve({ url: match[1]!, process: child });
    };
    for (const stream of streams) stream.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${text}`)));
  });
}

/**
 * CPU milliseconds (user + system) a process has used, where /proc exists; with `mainThread`,
 * its main thread's alone (Nimbus writes its ledger on a second thread: the main thread is what
 * bounds its throughput).
 */
export function cpuMs(child: ChildProcess, mainThread = false): number {
  const path = mainThread ? `/proc/${child.pid}/task/${child.pid}/stat` : `/proc/${child.pid}/stat`;
  if (!existsSync(path)) return Number.NaN;
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Limits high enough never to refuse, so every request pays for every check (the seven kinds). */
export const unrefusingLimits = {
  requests_per_minute: 100_000_000,
  tokens_per_minute: 1_000_000_000_000,
  concurrent_requests: 10_000,
  tokens_per_day: 1_000_000_000_000,
  tokens_per_month: 1_000_000_000_000,
  cost_per_day_usd: 1_000_000,
  cost_per_month_usd: 1_000_000,
};

/** POSTs JSON (with a key when given) and returns the JSON answer; anything but 2xx throws. */
export async function postJson<T>(url: string, path: string, body: unknown, key?: string): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * On a server in local mode: an operator key (which ends local mode), a tenant `bench` and a key
 * of it, both with `unrefusingLimits`; returns the tenant key, the one a load generator sends.
 */
export async function limitedBenchKey(url: string): Promise<string> {
  const operator = await postJson<{ key: string }>(url, '/v1/keys', { name: 'operator', scopes: { admin: true } });
  await postJson(url, '/v1/tenants', { id: 'bench', limits: unrefusingLimits }, operator.key);
  return (await postJson<{ key: string }>(url, '/v1/keys', { tenant: 'bench', name: 'load', limits: unrefusingLimits }, operator.key)).key;
}
