/**
 * What `/v1/responses` adds over `/v1/chat/completions` for the same plain turn (issue 22): one
 * `nimbus serve` process (dist/) with stories260K, the same prompt, temperature 0 and token cap on
 * both endpoints, at concurrency 1 and 16, whole answers (latency) and streams (time to the first
 * text delta). Each round runs a batch on each endpoint back to back, in alternating order (A B,
 * then B A), and takes B's median over A's: the figure is the median of those ratios over the
 * rounds, with their interquartile range (a range that includes 1.0 means no difference measured).
 * Goal: at most 1.05. Responses are stored (`store` defaults to true, as OpenAI), so the figure
 * includes the one insert each makes; `--no-store` leaves it out.
 *
 *   npm run build && npx tsx bench/responses-overhead.ts [--rounds 8] [--requests 32] [--tokens 16] [--no-store] [--concurrency 16] [--mode whole]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { benchModelPath, median, percentile, report, startServerProcess, timeRequest, waitReady } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    requests: { type: 'string', default: '32' },
    tokens: { type: 'string', default: '16' },
    'no-store': { type: 'boolean', default: false },
    // One concurrency (`--concurrency 16`) or mode (`--mode whole`) alone: more rounds in the same time where the noise is.
    concurrency: { type: 'string' },
    mode: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const requestsPerBatch = Number(values.requests);
const maxTokens = Number(values.tokens);
const concurrencies = values.concurrency !== undefined ? [Number(values.concurrency)] : [1, 16];
const modes = (values.mode !== undefined ? [values.mode] : ['whole', 'stream']) as Array<'whole' | 'stream'>;

const server = await startServerProcess(['--model', benchModelPath(), '--threads', '1', '--ctx', '512', '--slots', '16', '--log-level', 'warn'], {
  NIMBUS_MQTT_URL: 'off',
});
await waitReady(server.url);
const model = 'stories260K';
const prompt = 'Once upon a time';

type Endpoint = 'chat' | 'responses';
type Mode = 'whole' | 'stream';

/** The same turn as each endpoint takes it; `marker` is what the first text delta of a stream starts with. */
const shapes: Record<Endpoint, { path: string; body: (stream: boolean) => string; marker: string }> = {
  chat: {
    path: '/v1/chat/completions',
    body: (stream) => JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0, stream }),
    marker: '"content":"',
  },
  responses: {
    path: '/v1/responses',
    body: (stream) =>
      JSON.stringify({ model, input: prompt, max_output_tokens: maxTokens, temperature: 0, stream, ...(values['no-store'] ? { store: false } : {}) }),
    marker: 'response.output_text.delta',
  },
};

/** One request: milliseconds to the whole answer, or to the first text delta of a stream. */
function timeOne(endpoint: Endpoint, mode: Mode): Promise<number> {
  const shape = shapes[endpoint];
  return timeRequest(server.url, shape.path, shape.body(mode === 'stream'), mode === 'stream' ? shape.marker : undefined);
}

/** A batch of requests at a concurrency; the median of their times. */
async function batch(endpoint: Endpoint, mode: Mode, concurrency: number): Promise<number> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requestsPerBatch) {
        next += 1;
        times.push(await timeOne(endpoint, mode));
      }
    }),
  );
  return median(times);
}

// Warm both paths (the first request of each loads code and fills caches).
for (const mode of ['whole', 'stream'] as const) for (const endpoint of ['chat', 'responses'] as const) await batch(endpoint, mode, 4);

try {
  for (const concurrency of concurrencies) {
    for (const mode of modes) {
      const ratios: number[] = [];
      const chatMs: number[] = [];
      const responsesMs: number[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const order: Endpoint[] = round % 2 === 0 ? ['chat', 'responses'] : ['responses', 'chat'];
        const medians: Partial<Record<Endpoint, number>> = {};
        for (const endpoint of order) medians[endpoint] = await batch(endpoint, mode, concurrency);
        chatMs.push(medians.chat!);
        responsesMs.push(medians.responses!);
        ratios.push(medians.responses! / medians.chat!);
      }
      report(`responses-overhead ${mode === 'whole' ? 'latency' : 'ttft'} c${concurrency}`, {
        ratio_median: median(ratios),
        ratio_p25: percentile(ratios, 0.25),
        ratio_p75: percentile(ratios, 0.75),
        chat_ms: median(chatMs),
        responses_ms: median(responsesMs),
        rounds,
        requests: requestsPerBatch,
        tokens: maxTokens,
        store: values['no-store'] ? 'false' : 'true',
        // The machine's 1-minute load when the figure was taken: above ~3 on this 2-core machine the figure is noise.
        load1: loadavg()[0]!,
      });
    }
  }
} finally {
  await server.stop();
}
