/**
 * Spare slots (decision 0017) in-process, paired: two llama engines in one process, stories260K,
 * `--slots` slots each, threads 1, one with `--spare-slots` spares and one with none. Each round
 * runs, for each engine in turn (ABBA order across rounds), interactive chats of about 400 prompt
 * tokens at `--rate` a second for `--seconds`, alone and then beside `--slots` batch generations
 * looping (chat, 64 tokens): the TTFT p50 and p99 ratios (beside the batch / alone), and the
 * batch generations asked to yield. Also every TTFT of each engine pooled over the rounds, and
 * the ratio of the pooled medians: on a noisy machine short alternating phases compare the two
 * engines under the same load better than each round's own ratio. The engine's share of what
 * bench/batch-interactive.ts measures over HTTP, without the server around it.
 *
 *   npm run build && npx tsx bench/batch-spare-engine.ts [--rounds 4] [--slots 4] [--spare-slots 1] [--rate 2] [--seconds 8]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Cancellation } from '../src/core/cancellation.js';
import type { EngineCall, GenerationEvent, Priority } from '../src/core/engine.js';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { benchModelPath, median, percentile, report } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    slots: { type: 'string', default: '4' },
    'spare-slots': { type: 'string', default: '1' },
    rate: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '8' },
  },
});
const rounds = Number(values.rounds);
const slots = Number(values.slots);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

const call = (priority: Priority, cancel = new Cancellation()): EngineCall => ({ requestId: `bench-${priority}`, cancel, priority });
const longPrompt = (tag: string): string =>
  `Story ${tag}. ` + 'Once upon a time there was a little girl named Lily who loved to play in the park with her red ball. '.repeat(12);

async function firstToken(events: AsyncIterable<GenerationEvent>): Promise<number> {
  const started = performance.now();
  let first = 0;
  for await (const event of events) if (!first && event.type !== 'done' && event.content) first = performance.now() - started;
  return first;
}

async function steady(engine: LlamaEngine, phase: string): Promise<number[]> {
  const sends: Array<Promise<number>> = [];
  for (let index = 0; index < Math.round(rate * seconds); index += 1) {
    sends.push(
      firstToken(engine.chat({ model: 'stories', messages: [{ role: 'user', content: longPrompt(`${phase}-${index}`) }], max_tokens: 8 }, call('interactive'))),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
  }
  return Promise.all(sends);
}

/** `slots` batch generations, each started again when it ends, until `stop`. */
function batchLoops(engine: LlamaEngine): { running: Promise<void>; stop: () => Promise<void> } {
  const cancel = new Cancellation();
  let stopped = false;
  let line = 0;
  const loops = Array.from({ length: slots }, async () => {
    while (!stopped) {
      const request = {
        model: 'stories',
        messages: [{ role: 'user' as const, content: `Once upon a time, story ${(line += 1)}` }],
        max_tokens: 64,
        temperature: 0.8,
      };
      await firstToken(engine.chat(request, call('batch', cancel))).catch(() => undefined);
    }
  });
  return {
    running: new Promise((resolve) => setTimeout(resolve, 300)),
    stop: async () => {
      stopped = true;
      cancel.abort(new Error('bench over'));
      await Promise.all(loops);
    },
  };
}

const engines = { none: new LlamaEngine('cpu'), spare: new LlamaEngine('cpu') };
const base = { id: 'stories', path: benchModelPath(), contextSize: 512, slots, threads: 1, gpuLayers: 0, maxQueue: 64, promptCacheBytes: 512 << 20 };
await engines.none.addModel({ ...base, spareSlots: 0 });
await engines.spare.addModel({ ...base, spareSlots: Number(values['spare-slots']) });
const ratios = { none: { p50: [] as number[], p99: [] as number[] }, spare: { p50: [] as number[], p99: [] as number[] } };
const pooled = { none: { alone: [] as number[], busy: [] as number[], wins: 0 }, spare: { alone: [] as number[], busy: [] as number[], wins: 0 } };
try {
  for (const name of ['none', 'spare'] as const) await steady(engines[name], `warmup-${name}`);
  for (let round = 1; round <= rounds; round += 1) {
    const order = round % 2 === 1 ? (['none', 'spare'] as const) : (['spare', 'none'] as const);
    const busyP50: Partial<Record<'none' | 'spare', number>> = {};
    for (const name of order) {
      const engine = engines[name];
      const model = engine.loadedModel('stories')!;
      const alone = await steady(engine, `alone-${round}`);
      const loops = batchLoops(engine);
      await loops.running;
      const yieldsBefore = model.yields;
      const busy = await steady(engine, `batch-${round}`);
      const yields = model.yields - yieldsBefore;
      await loops.stop();
      ratios[name].p50.push(median(busy) / median(alone));
      pooled[name].alone.push(...alone);
      pooled[name].busy.push(...busy);
      busyP50[name] = median(busy);
      ratios[name].p99.push(percentile(busy, 0.99) / percentile(alone, 0.99));
      report(`round ${round} ${name}`, {
        load_average: loadavg()[0]!,
        alone_p50_ms: median(alone),
        batch_p50_ms: median(busy),
        alone_p99_ms: percentile(alone, 0.99),
        batch_p99_ms: percentile(busy, 0.99),
        p50_ratio: median(busy) / median(alone),
        p99_ratio: percentile(busy, 0.99) / percentile(alone, 0.99),
        yields,
        spare_takes: model.spareTakes,
      });
    }
    pooled[busyP50.spare! < busyP50.none! ? 'spare' : 'none'].wins += 1;
  }
  for (const name of ['none', 'spare'] as const) {
    const { alone, busy, wins } = pooled[name];
    report(`batch-spare-engine ${name}`, {
      rounds,
      ttft_p50_ratio: median(ratios[name].p50),
      ttft_p99_ratio: median(ratios[name].p99),
      pooled_alone_p50_ms: median(alone),
      pooled_batch_p50_ms: median(busy),
      pooled_p50_ratio: median(busy) / median(alone),
      pooled_p99_ratio: percentile(busy, 0.99) / percentile(alone, 0.99),
      rounds_with_lower_batch_p50: wins,
    });
  }
} finally {
  await engines.none.close();
  await engines.spare.close();
}
