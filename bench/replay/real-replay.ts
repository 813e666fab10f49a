/**
 * Replay against real workers on this machine: a Nimbus pool (a control plane and `workers`
 * `nimbus worker` processes, stories260K on the llama engine at one thread each), with one
 * deployment per routing policy, a replica on every worker (src/cluster/routing). A slice
 * of the Mooncake trace is scaled to the model: each 512-token hash id becomes a fixed block of
 * text (equal ids, equal text, so shared ids mean a shared prompt prefix the workers' slot caches
 * can reuse), prompts keep their leading `maxBlocks` blocks, outputs are divided by `outputScale`,
 * and arrivals are compressed to `rate` requests per second. Every request streams, and its time
 * to first token is measured at the client.
 *
 * Policies take turns, round after round, on fresh text (a salt per run makes every block new),
 * so neither inherits the other's warm caches.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { hash32 } from '../../src/cluster/routing/hash-ring.js';
import type { RoutingPolicy } from '../../src/core/replica-router.js';
import { benchModelPath, repoRoot, startServerProcess } from '../support.js';
import type { TraceRequest } from './load-trace.js';
import { adminClient } from '../../src/cli/admin-client.js';

/** How the trace is scaled onto the tiny model and this machine. */
export interface RealReplayOptions {
  trace: readonly TraceRequest[];
  policies: readonly RoutingPolicy[];
  /** Worker processes. */
  workers: number;
  /** Slots (concurrent sequences, each with its own prefix cache) per worker. */
  slots: number;
  /** Characters per block of text (one Mooncake hash id); also the routers' prefix block size. */
  blockChars: number;
  /** Leading blocks kept per prompt (the model's context is 512 tokens). */
  maxBlocks: number;
  /** Output tokens = trace output / outputScale, at least 1, at most maxOutput. */
  outputScale: number;
  maxOutput: number;
  /** Offered load, requests per second (the trace's gaps are scaled to it). */
  rate: number;
  rounds: number;
  /** The GGUF file the workers serve (default: `benchModelPath()`, stories260K). */
  modelPath?: string;
}

/** What one run of one policy measured. */
export interface PolicyRun {
  policy: RoutingPolicy;
  round: number;
  requests: number;
  errors: number;
  /** What the failed requests met, counted ('3x 503 overloaded'). */
  errorKinds: string;
  ttftMeanMs: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  /** Cached prompt tokens over all prompt tokens (from usage). */
  cachedShare: number;
  /** Output tokens per second over the run. */
  outputTokensPerSecond: number;
}

const words = [
  'the',
  'cat',
  'dog',
  'sun',
  'big',
  'red',
  'ball',
  'tree',
  'girl',
  'boy',
  'park',
  'happy',
  'sad',
  'run',
  'jump',
  'play',
  'fish',
  'bird',
  'car',
  'box',
];

/** The text of one block: words drawn from a generator seeded by the block's id and the run's salt, exactly `chars` long. */
export function blockText(id: number, salt: string, chars: number): string {
  let state = hash32(`${salt}:${id}`) || 1;
  let text = '';
  while (text.length < chars) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    text += `${words[(state >>> 0) % words.length]} `;
  }
  return text.slice(0, chars - 1) + ' ';
}

/** The prompt of one trace request in one run. */
export function promptOf(entry: TraceRequest, salt: string, options: Pick<RealReplayOptions, 'blockChars' | 'maxBlocks'>): string {
  const blocks = (entry.blocks ?? [hash32(`${salt}:${entry.arrivalMs}`)]).slice(0, options.maxBlocks);
  return blocks.map((id) => blockText(id, salt, options.blockChars)).join('');
}

/**
 * The most of the prompts' blocks any routing could serve from a cache: each block whose whole
 * prefix (its block and every one before it, as `promptOf` keeps them) came in an earlier request,
 * as if one replica with an unbounded cache had seen them all. No policy's cached share can pass
 * it, so it bounds what prefix-aware routing can save over round-robin on the slice.
 */
export function reusableShare(trace: readonly TraceRequest[], maxBlocks: number): number {
  const seen = new Set<string>();
  let blocks = 0;
  let reusable = 0;
  for (const entry of trace) {
    const kept = (entry.blocks ?? []).slice(0, maxBlocks);
    let prefix = '';
    let held = true;
    for (const id of kept) {
      prefix += `${id},`;
      blocks += 1;
      held &&= seen.has(prefix);
      if (held) reusable += 1;
      seen.add(prefix);
    }
  }
  return blocks === 0 ? 0 : reusable / blocks;
}

/** The trace's arrivals rescaled to `rate` requests per second on average, from 0. */
export function compressArrivals(trace: readonly TraceRequest[], rate: number): number[] {
  const first = trace[0]?.arrivalMs ?? 0;
  const span = (trace.at(-1)?.arrivalMs ?? first) - first;
  const target = ((trace.length - 1) / rate) * 1000;
  const factor = span > 0 ? target / span : 0;
  return trace.map((entry, index) => (span > 0 ? (entry.arrivalMs - first) * factor : (index / rate) * 1000));
}

function percentileOf(sorted: readonly number[], share: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

/** One streamed completion: time to its first text, tokens from usage. */
async function streamOne(
  agent: Agent,
  url: string,
  body: Record<string, unknown>,
): Promise<{ ttftMs: number; prompt: number; cached: number; completion: number } | undefined> {
  const started = performance.now();
  const response = await request(`${url}/v1/completions`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (response.statusCode !== 200) {
    const answer = await response.body.text();
    throw new Error(`${response.statusCode} ${/"code":"([^"]+)"/.exec(answer)?.[1] ?? answer.slice(0, 60)}`);
  }
  let ttftMs = Number.NaN;
  let text = '';
  for await (const chunk of response.body) {
    text += (chunk as Buffer).toString();
    if (Number.isNaN(ttftMs) && text.includes('"text":"')) ttftMs = performance.now() - started;
  }
  const usageLine = text.split('\n').find((line) => line.includes('"usage":{'));
  if (!usageLine) throw new Error(`stream without usage: ${/"code":"([^"]+)"/.exec(text)?.[1] ?? text.slice(-60)}`);
  const usage = (
    JSON.parse(usageLine.slice('data: '.length)) as {
      usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } };
    }
  ).usage;
  return {
    ttftMs: Number.isNaN(ttftMs) ? performance.now() - started : ttftMs,
    prompt: usage.prompt_tokens,
    cached: usage.prompt_tokens_details?.cached_tokens ?? 0,
    completion: usage.completion_tokens,
  };
}

/** Spawns `nimbus worker` joining `controlPlane`; resolves once it has joined. */
function startWorker(name: string, controlPlane: string, token: string, stops: Array<() => Promise<void>>): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), `nimbus-replay-${name}-`));
  const args = [
    'worker',
    '--join',
    controlPlane,
    '--name',
    name,
    '--port',
    '0',
    '--home',
    home,
    '--gpu',
    'cpu',
    '--threads',
    '1',
    '--max-queue',
    '10000',
    '--log-level',
    'warn',
  ];
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), ...args], { env: { ...process.env, NIMBUS_JOIN_TOKEN: token } });
  stops.push(
    () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (/listening on http:\/\/[\d.:]+, joined/.test(output)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nimbus worker ${name} exited with ${code}: ${output}`)));
  });
}

/**
 * Starts a pool (a control plane and `workers` worker processes), deploys the model once per
 * policy (a deployment named after its policy, a replica on every worker), runs every policy
 * `rounds` times in turn through the control plane, and stops everything.
 */
export async function runRealReplay(options: RealReplayOptions, onRun: (run: PolicyRun) => void = () => undefined): Promise<PolicyRun[]> {
  const modelPath = options.modelPath ?? benchModelPath();
  const stops: Array<() => Promise<void>> = [];
  try {
    const work = mkdtempSync(join(tmpdir(), 'nimbus-replay-real-'));
    const configPath = join(work, 'control-plane.json');
    writeFileSync(configPath, JSON.stringify({ mqttUrl: 'off', routing: { prefixBlockChars: options.blockChars } }));
    const controlPlane = await startServerProcess(['--config', configPath, '--log-level', 'warn'], { NIMBUS_POOL_HEARTBEAT_MS: '500' });
    // The CLI's own admin client (local mode: no key).
    const admin = adminClient({ NIMBUS_URL: controlPlane.url });
    stops.push(() => controlPlane.stop());
    const { token } = await admin.json<{ token: string }>('POST', '/v1/pool/join-tokens', {});
    await Promise.all(Array.from({ length: options.workers }, (_, index) => startWorker(`worker-${index}`, controlPlane.url, token, stops)));
    for (const policy of options.policies) {
      await admin.json('POST', '/v1/deployments', {
        model: modelPath,
        name: policy,
        replicas: options.workers,
        device: 'cpu',
        context_size: 512,
        slots: options.slots,
        routing: policy,
      });
    }
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { data } = await admin.json<{ data: Array<{ name: string; placed: Array<{ state: string }> }> }>('GET', '/v1/deployments');
      const ready = options.policies.every(
        (policy) => data.find((deployment) => deployment.name === policy)?.placed.filter((replica) => replica.state === 'ready').length === options.workers,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the deployments never became ready: ${JSON.stringify(data)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const agent = new Agent({ connections: 256, pipelining: 1 });
    const arrivals = compressArrivals(options.trace, options.rate);
    const runs: PolicyRun[] = [];
    // One short warm-up per policy (JIT, connections), on text no run uses.
    for (const policy of options.policies)
      await streamOne(agent, controlPlane.url, { model: policy, prompt: blockText(0, `warm-${policy}`, options.blockChars), max_tokens: 2 });
    for (let round = 0; round < options.rounds; round += 1) {
      for (const policy of options.policies) {
        const salt = `${round}-${policy}-${Math.random().toString(36).slice(2)}`;
        const begin = performance.now();
        const errorKinds = new Map<string, number>();
        const results = await Promise.all(
          options.trace.map(async (entry, index) => {
            const wait = arrivals[index]! - (performance.now() - begin);
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            const maxTokens = Math.min(options.maxOutput, Math.max(1, Math.round(entry.outputTokens / options.outputScale)));
            return streamOne(agent, controlPlane.url, { model: policy, prompt: promptOf(entry, salt, options), max_tokens: maxTokens, temperature: 0.8 }).catch(
              (error: Error) => {
                errorKinds.set(error.message, (errorKinds.get(error.message) ?? 0) + 1);
                return undefined;
              },
            );
          }),
        );
        const seconds = (performance.now() - begin) / 1000;
        const ok = results.filter((result) => result !== undefined);
        const ttfts = ok.map((result) => result.ttftMs).sort((a, b) => a - b);
        const prompt = ok.reduce((sum, result) => sum + result.prompt, 0);
        const run: PolicyRun = {
          policy,
          round,
          requests: ok.length,
          errors: results.length - ok.length,
          errorKinds: [...errorKinds].map(([kind, count]) => `${count}x ${kind}`).join('; '),
          ttftMeanMs: ttfts.reduce((sum, value) => sum + value, 0) / (ttfts.length || 1),
          ttftP50Ms: percentileOf(ttfts, 0.5),
          ttftP99Ms: percentileOf(ttfts, 0.99),
          cachedShare: prompt > 0 ? ok.reduce((sum, result) => sum + result.cached, 0) / prompt : 0,
          outputTokensPerSecond: ok.reduce((sum, result) => sum + result.completion, 0) / seconds,
        };
        runs.push(run);
        onRun(run);
      }
    }
    await agent.close();
    return runs;
  } finally {
    await Promise.all(stops.reverse().map((stop) => stop()));
  }
}
