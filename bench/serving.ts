/**
 * Serving throughput: tokens/s through the HTTP API (streamed, the server in its own process)
 * against node-llama-cpp called directly on the same model and settings, in this one script.
 * Runs alternate (direct, API, direct, API, ...) so machine noise hits both alike; the ratio is
 * the median of each round's API/direct pair, run back to back, because this shared machine's
 * speed drifts by tens of percent over a minute (both paths speed up together as it warms), which
 * a ratio of the two medians would mix in. `--warmup` rounds of both run first, unmeasured.
 * One pair's ratio moves by +-0.1 here, so the default is 25 rounds of 300 tokens: the median's
 * own spread is then about +-0.02, and the interquartile range is printed with it.
 * A third path, Nimbus's llama engine called in this process (no HTTP), splits the difference
 * into what the engine costs and what the HTTP hop to another process costs.
 *
 *   npm run build && npx tsx bench/serving.ts [--rounds 25] [--warmup 2] [--tokens 300]
 */
import { Cancellation } from '../src/core/cancellation.js';
import { parseArgs } from 'node:util';
import { getLlama, LlamaCompletion, type LlamaContext } from 'node-llama-cpp';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { benchModelPath, median, percentile, report, startServerProcess, streamCompletion, waitReady } from './support.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '25' }, warmup: { type: 'string', default: '2' }, tokens: { type: 'string', default: '300' } },
});
const rounds = Number(values.rounds);
const warmupRounds = Number(values.warmup);
const maxTokens = Number(values.tokens);
const modelPath = benchModelPath();
const prompts = Array.from({ length: 8 }, (_, index) => `Once upon a time, story ${index}:`);
const settings = { temperature: 0, maxTokens };

const engine = new LlamaEngine('cpu');
const llama = await getLlama({ gpu: false, build: 'never' });
const model = await llama.loadModel({ modelPath });

/** node-llama-cpp directly: `streams` sequences of one context, generating at once. */
async function direct(context: LlamaContext, streams: number): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(
    prompts.slice(0, streams).map(async (prompt) => {
      const sequence = context.getSequence();
      try {
        const completion = new LlamaCompletion({ contextSequence: sequence });
        let tokens = 0;
        await completion.generateCompletion(prompt, { ...settings, repeatPenalty: false, onToken: (chunk) => (tokens += chunk.length) });
        return tokens;
      } finally {
        void sequence.dispose();
      }
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0) / ((performance.now() - started) / 1000);
}

/** The same work through the HTTP API: one streamed request per prompt, all at once. */
async function throughApi(url: string, streams: number, model: string): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(prompts.slice(0, streams).map((prompt) => streamCompletion(url, { model, prompt, temperature: 0, max_tokens: maxTokens })));
  return results.reduce((sum, result) => sum + result.tokens, 0) / ((performance.now() - started) / 1000);
}

/** Nimbus's llama engine in this process: the same requests as the API path, without HTTP. */
async function throughEngine(id: string, streams: number): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(
    prompts.slice(0, streams).map(async (prompt) => {
      const call = { requestId: id, cancel: new Cancellation(), onAttempt: () => undefined };
      let tokens = 0;
      for await (const event of engine.complete({ model: id, prompt, temperature: 0, max_tokens: maxTokens }, call)) {
        if (event.type === 'done') tokens = event.usage.completion_tokens;
      }
      return tokens;
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0) / ((performance.now() - started) / 1000);
}

for (const streams of [1, 8]) {
  const engineModel = `engine-${streams}`;
  await engine.addModel({ id: engineModel, path: modelPath, contextSize: 512, slots: streams, threads: 1, gpuLayers: 0, maxQueue: 64, promptCacheBytes: 0 });
  const context = await model.createContext({ contextSize: 512, sequences: streams, threads: 1 });
  const server = await startServerProcess(['--model', modelPath, '--threads', '1', '--ctx', '512', '--slots', String(streams), '--log-level', 'warn']);
  await waitReady(server.url);
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
  const servedId = models.data[0]!.id;
  // Warm both paths (JIT, caches, the machine itself) before measuring.
  for (let round = 0; round < Math.max(1, warmupRounds); round += 1) {
    await direct(context, streams);
    await throughApi(server.url, streams, servedId);
    await throughEngine(engineModel, streams);
  }
  const directRates: number[] = [];
  const apiRates: number[] = [];
  const engineRates: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    directRates.push(await direct(context, streams));
    apiRates.push(await throughApi(server.url, streams, servedId));
    engineRates.push(await throughEngine(engineModel, streams));
  }
  await server.stop();
  await context.dispose();
  const directMedian = median(directRates);
  const apiMedian = median(apiRates);
  const pairRatios = apiRates.map((rate, round) => rate / directRates[round]!);
  const engineRatios = engineRates.map((rate, round) => rate / directRates[round]!);
  report(`serving streams=${streams}`, {
    direct_tokens_per_s: directMedian,
    api_tokens_per_s: apiMedian,
    ratio: median(pairRatios),
    ratio_iqr: `${percentile(pairRatios, 0.25).toFixed(3)}-${percentile(pairRatios, 0.75).toFixed(3)}`,
    ratio_range: `${Math.min(...pairRatios).toFixed(2)}-${Math.max(...pairRatios).toFixed(2)}`,
    engine_in_process_ratio: median(engineRatios),
    rounds,
    warmup_rounds: warmupRounds,
    max_tokens: maxTokens,
  });
}

await engine.close();
await model.dispose();
await llama.dispose();
