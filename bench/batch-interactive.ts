/**
 * Interactive first (issue 29, item 3; decision 0017), two figures on one `nimbus serve` process
 * running stories260K (threads 1, `--slots` slots, local mode):
 *
 * 1. TTFT: interactive chat requests of about 400 prompt tokens, streamed, sent at a steady rate
 *    (`--rate` a second for `--seconds`), once with nothing else running and once while a batch of
 *    `--lines` chat lines (default 10,000) runs; paired rounds (alone, then with the batch, back to
 *    back), and the medians over rounds of each round's p50 and p99 ratios (with / alone). Goals:
 *    p50 within 1.2x, p99 within 1.5x. The batch is cancelled at the end of each round.
 * 2. Throughput with no interactive traffic: `--throughput-lines` chat lines as a batch, against
 *    the same requests sent to /v1/chat/completions at a concurrency equal to the slots; output
 *    tokens a second, paired rounds, the median of the ratios (batch / direct). Goal at least 0.9x.
 *
 *   npm run build && npx tsx bench/batch-interactive.ts [--rounds 5] [--slots 4] [--lines 10000]
 *     [--rate 2] [--seconds 10] [--throughput-lines 200 (0: TTFT only)] [--tokens 64]
 *     [--root DIR (a checkout whose built dist/ to run instead of this one's: paired A/B)]
 *     [--spare-slots N (passed to the server; left out, the server's default)]
 *
 * The rate must leave the server able to keep up alone (TTFT alone near one prompt's prefill):
 * a rate it cannot serve makes queues, not priority, the measure.
 *
 * On a loaded machine the figures are noise: quote them only from a quiet one.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchModelPath, median, percentile, repoRoot, report, startServerProcess, waitReady } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    slots: { type: 'string', default: '4' },
    lines: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    'throughput-lines': { type: 'string', default: '200' },
    tokens: { type: 'string', default: '64' },
    root: { type: 'string' },
    'spare-slots': { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const slots = Number(values.slots);
const lines = Number(values.lines);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const throughputLines = Number(values['throughput-lines']);
const maxTokens = Number(values.tokens);
const model = 'stories260K';

/** About 400 tokens of the model's own kind of text (stories260K: its context is 512 tokens, so the prompt leaves room for the answer). */
const longPrompt = (tag: string): string =>
  `Story ${tag}. ` + 'Once upon a time there was a little girl named Lily who loved to play in the park with her red ball. '.repeat(12);

interface BatchView {
  id: string;
  status: string;
  request_counts: { total: number; completed: number; failed: number };
  usage?: { output_tokens: number };
  errors?: { data: unknown[] } | null;
  error_file_id?: string | null;
  output_file_id?: string | null;
}

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * A batch of `lines` lines that ended inside a 10 s window is a finding, not a figure: its counts,
 * its errors and the first lines of its error file say why (once, in round 2 of a run, a
 * 10,000-line batch read as completed with 51 lines done).
 */
async function explainEnded(url: string, round: number, batch: BatchView): Promise<void> {
  console.log(`round ${round}: the batch ended (${batch.status}) before the interactive window did: request_counts ${JSON.stringify(batch.request_counts)}`);
  if (batch.errors) console.log(`  errors: ${JSON.stringify(batch.errors).slice(0, 2000)}`);
  for (const [name, id] of [
    ['error', batch.error_file_id],
    ['output', batch.output_file_id],
  ] as const) {
    if (!id) continue;
    const text = await (await fetch(`${url}/v1/files/${id}/content`)).text();
    const rows = text.split('\n').filter(Boolean);
    console.log(`  ${name} file ${id}: ${rows.length} lines; first: ${rows.slice(0, 3).join('\n    ').slice(0, 3000)}`);
  }
}

/** Uploads the lines as a batch file and creates the batch. */
async function createBatch(url: string, bodies: ReadonlyArray<Record<string, unknown>>): Promise<BatchView> {
  const text = bodies.map((body, index) => JSON.stringify({ custom_id: `l-${index}`, method: 'POST', url: '/v1/chat/completions', body })).join('\n');
  const form = new FormData();
  form.set('purpose', 'batch');
  form.set('file', new Blob([text]), 'bench.jsonl');
  const file = (await (await fetch(`${url}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
  return api<BatchView>(url, 'POST', '/v1/batches', { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
}

async function waitFor(url: string, id: string, done: (batch: BatchView) => boolean): Promise<BatchView> {
  for (;;) {
    const batch = await api<BatchView>(url, 'GET', `/v1/batches/${id}`);
    if (done(batch)) return batch;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Streams one chat completion; resolves to its time to first content (ms) and its prompt tokens. */
function ttft(url: string, prompt: string): Promise<{ ms: number; promptTokens: number }> {
  const payload = JSON.stringify({
    model,
    messages: [{ role: 'user', content: prompt }],
    max_tokens: 8,
    stream: true,
    stream_options: { include_usage: true },
  });
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let first = 0;
    const chunks: Buffer[] = [];
    const outgoing = httpRequest(
      `${url}/v1/chat/completions`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        response.on('data', (chunk: Buffer) => {
          if (!first && chunk.includes('"content":"')) first = performance.now();
          chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode}: ${text}`));
          const usage = /"prompt_tokens":(\d+)/.exec(text);
          resolve({ ms: (first || performance.now()) - started, promptTokens: Number(usage?.[1] ?? 0) });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** Interactive requests at a steady rate for the window; their TTFTs. Each prompt begins with `phase` and its number, so no prompt reuses another's cache. */
async function steadyTraffic(url: string, phase: string): Promise<{ ttfts: number[]; promptTokens: number }> {
  const count = Math.max(1, Math.round(rate * seconds));
  const sends: Array<Promise<{ ms: number; promptTokens: number }>> = [];
  for (let index = 0; index < count; index += 1) {
    sends.push(ttft(url, longPrompt(`${phase}-${index}`)));
    await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
  }
  const results = await Promise.all(sends);
  return { ttfts: results.map((result) => result.ms), promptTokens: median(results.map((result) => result.promptTokens)) };
}

const lineBody = (index: number): Record<string, unknown> => ({
  model,
  messages: [{ role: 'user', content: `Once upon a time, story ${index}` }],
  max_tokens: maxTokens,
  temperature: 0.8,
});

/** The throughput lines as a batch: output tokens a second from its creation to its completion. */
async function batchThroughput(url: string): Promise<number> {
  const started = performance.now();
  const created = await createBatch(
    url,
    Array.from({ length: throughputLines }, (_, index) => lineBody(index)),
  );
  const done = await waitFor(url, created.id, (batch) => ['completed', 'failed', 'expired', 'cancelled'].includes(batch.status));
  if (done.status !== 'completed') throw new Error(`throughput batch ended ${done.status}`);
  return (done.usage?.output_tokens ?? 0) / ((performance.now() - started) / 1000);
}

/** The same requests to /v1/chat/completions, `slots` at a time. */
async function directThroughput(url: string): Promise<number> {
  const started = performance.now();
  let next = 0;
  let tokens = 0;
  await Promise.all(
    Array.from({ length: slots }, async () => {
      while (next < throughputLines) {
        const index = next++;
        const answer = await api<{ usage: { completion_tokens: number } }>(url, 'POST', '/v1/chat/completions', lineBody(index));
        tokens += answer.usage.completion_tokens;
      }
    }),
  );
  return tokens / ((performance.now() - started) / 1000);
}

const config = join(mkdtempSync(join(tmpdir(), 'nimbus-bench-batch-')), 'nimbus.json');
writeFileSync(config, JSON.stringify({ batches: { linesInFlight: slots } }));
const spare = values['spare-slots'] === undefined ? [] : ['--spare-slots', values['spare-slots']];
const server = await startServerProcess(
  ['--config', config, '--model', benchModelPath(), '--threads', '1', '--ctx', '512', '--slots', String(slots), ...spare],
  {},
  [],
  values.root ?? repoRoot,
);
try {
  await waitReady(server.url);
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} at the start`,
  );
  // Unmeasured: the first requests of a fresh process are slower (pages, caches).
  await steadyTraffic(server.url, 'warmup');
  const p50Ratios: number[] = [];
  const p99Ratios: number[] = [];
  const throughputRatios: number[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    const alone = await steadyTraffic(server.url, `alone-${round}`);
    const batch = await createBatch(
      server.url,
      Array.from({ length: lines }, (_, index) => lineBody(index)),
    );
    // Lines are running (the first answers are in) before the interactive traffic starts.
    await waitFor(server.url, batch.id, (view) => view.status !== 'validating' && view.request_counts.completed > 0);
    const busy = await steadyTraffic(server.url, `batch-${round}`);
    const progress = await api<BatchView>(server.url, 'GET', `/v1/batches/${batch.id}`);
    // A batch that finished inside the window no longer loaded all of it: said below, not hidden.
    if (progress.status === 'in_progress') {
      await api(server.url, 'POST', `/v1/batches/${batch.id}/cancel`);
      await waitFor(server.url, batch.id, (view) => view.status === 'cancelled');
    } else await explainEnded(server.url, round, progress);
    const p50 = median(busy.ttfts) / median(alone.ttfts);
    const p99 = percentile(busy.ttfts, 0.99) / percentile(alone.ttfts, 0.99);
    p50Ratios.push(p50);
    p99Ratios.push(p99);
    // --throughput-lines 0 measures TTFT only (rounds twice as fast).
    const direct = throughputLines > 0 ? await directThroughput(server.url) : NaN;
    const batched = throughputLines > 0 ? await batchThroughput(server.url) : NaN;
    if (throughputLines > 0) throughputRatios.push(batched / direct);
    report(`round ${round}`, {
      load_average: loadavg()[0]!,
      prompt_tokens: alone.promptTokens,
      alone_p50_ms: median(alone.ttfts),
      alone_p99_ms: percentile(alone.ttfts, 0.99),
      batch_p50_ms: median(busy.ttfts),
      batch_p99_ms: percentile(busy.ttfts, 0.99),
      batch_lines_done_meanwhile: progress.request_counts.completed,
      p50_ratio: p50,
      p99_ratio: p99,
      direct_tok_s: direct,
      batch_tok_s: batched,
      throughput_ratio: batched / direct,
    });
  }
  report('batch-interactive', {
    root: values.root ?? repoRoot,
    rounds,
    slots,
    lines,
    ttft_p50_ratio: median(p50Ratios),
    ttft_p99_ratio: median(p99Ratios),
    throughput_ratio: median(throughputRatios),
  });
  console.log('goals: ttft_p50_ratio <= 1.2, ttft_p99_ratio <= 1.5, throughput_ratio >= 0.9');
} finally {
  await server.stop();
}
