/**
 * What calling an app adds over the plain Responses call it stands for (issue 23), retrieval
 * excluded: one `nimbus serve` process (dist/) with stories260K, an app `bench` with the model,
 * temperature 0 and the token cap (no knowledge, no tools, no memory), and the same turn sent as
 * `model: "app:bench"` and as `model: "stories260K"` with those fields, whole answers, at
 * concurrency 1 and 16. Each round runs a batch of each back to back in alternating order (A B,
 * then B A); a round's figures are the medians of its batches. Reported: at concurrency 1 the
 * median over rounds of (app p50 - plain p50) in ms (goal: at most 1 ms), at 16 the median of
 * the ratios app/plain (goal: at most 1.05), each with its interquartile range over the rounds.
 *
 *   npm run build && npx tsx bench/apps-overhead.ts [--rounds 8] [--requests 32] [--tokens 4]
 */
import { request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';
import { benchModelPath, median, percentile, postJson, report, startServerProcess, waitReady } from './support.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '8' }, requests: { type: 'string', default: '32' }, tokens: { type: 'string', default: '4' } },
});
const rounds = Number(values.rounds);
const requestsPerBatch = Number(values.requests);
const maxTokens = Number(values.tokens);

const server = await startServerProcess(['--model', benchModelPath(), '--threads', '1', '--ctx', '512', '--slots', '16', '--log-level', 'warn'], {
  NIMBUS_MQTT_URL: 'off',
});
await waitReady(server.url);
const model = 'stories260K';
const prompt = 'Once upon a time';
await postJson(server.url, '/v1/apps', { name: 'bench', model, temperature: 0, max_output_tokens: maxTokens });

type Caller = 'plain' | 'app';
const bodies: Record<Caller, string> = {
  plain: JSON.stringify({ model, input: prompt, max_output_tokens: maxTokens, temperature: 0 }),
  app: JSON.stringify({ model: 'app:bench', input: prompt }),
};

/** One whole response with a lean client (node:http, nothing parsed); its milliseconds. */
function timeOne(caller: Caller): Promise<number> {
  const payload = bodies[caller];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${server.url}/v1/responses`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        response.resume();
        response.on('error', reject);
        response.on('end', () =>
          response.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`${caller}: HTTP ${response.statusCode}`)),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** A batch at a concurrency: the median of its times. */
async function batch(caller: Caller, concurrency: number): Promise<number> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requestsPerBatch) {
        next += 1;
        times.push(await timeOne(caller));
      }
    }),
  );
  return median(times);
}

// Warm both paths (code loaded, the app cached, the slot's prefix evaluated).
for (const caller of ['plain', 'app'] as const) await batch(caller, 4);

try {
  for (const concurrency of [1, 16]) {
    const differences: number[] = [];
    const ratios: number[] = [];
    const plainMs: number[] = [];
    const appMs: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const order: Caller[] = round % 2 === 0 ? ['plain', 'app'] : ['app', 'plain'];
      const medians: Partial<Record<Caller, number>> = {};
      for (const caller of order) medians[caller] = await batch(caller, concurrency);
      plainMs.push(medians.plain!);
      appMs.push(medians.app!);
      differences.push(medians.app! - medians.plain!);
      ratios.push(medians.app! / medians.plain!);
    }
    report(`apps-overhead c${concurrency}`, {
      ...(concurrency === 1
        ? { added_ms_median: median(differences), added_ms_p25: percentile(differences, 0.25), added_ms_p75: percentile(differences, 0.75) }
        : { ratio_median: median(ratios), ratio_p25: percentile(ratios, 0.25), ratio_p75: percentile(ratios, 0.75) }),
      plain_ms: median(plainMs),
      app_ms: median(appMs),
      rounds,
      requests: requestsPerBatch,
      tokens: maxTokens,
    });
  }
} finally {
  await server.stop();
}
