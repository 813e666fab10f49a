/**
 * Interactive first on the real engine (stories260K, CPU, 2 slots; issue 29, item 3): batch
 * generations hold every slot; an interactive request that comes then gets a slot at the next
 * token boundary (a batch generation yields it), not when a batch generation ends; the yielded
 * generation resumes from its own text and ends as one answer with all its tokens. The same
 * request behind interactive generations waits for one of them to end.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cancellation } from '../src/core/cancellation.js';
import type { EngineCall, GenerationEvent, Priority } from '../src/core/engine.js';
import { resolveConfig } from '../src/core/config.js';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { OpenAIEngine } from '../src/engines/openai/openai-engine.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();

interface Run {
  text: string;
  done: Extract<GenerationEvent, { type: 'done' }>;
  startedAt: number;
  firstAt: number;
  endedAt: number;
  /** Milliseconds between text deltas, in order. */
  gaps: number[];
}

function call(priority: Priority): EngineCall {
  return { requestId: `test-${priority}`, cancel: new Cancellation(), priority };
}

/** Consumes a generation; `started` is called once `after` text deltas have come (the first by default). */
async function run(events: AsyncIterable<GenerationEvent>, started?: () => void, after = 1): Promise<Run> {
  const startedAt = performance.now();
  let deltas = 0;
  let text = '';
  let firstAt = 0;
  let last = 0;
  const gaps: number[] = [];
  let done: Run['done'] | undefined;
  for await (const event of events) {
    const now = performance.now();
    if (event.type === 'done') done = event;
    else if (event.content) {
      if ((deltas += 1) === after) started?.();
      if (!firstAt) {
        firstAt = now;
      } else gaps.push(now - last);
      last = now;
      text += event.content;
    }
  }
  if (!done) throw new Error('no done event');
  return { text, done, startedAt, firstAt, endedAt: performance.now(), gaps };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

describe.skipIf(skip)('interactive first in the llama slot queue', () => {
  let engine: LlamaEngine;
  beforeAll(async () => {
    engine = new LlamaEngine('cpu');
    await engine.addModel({ id: 'stories', path: storiesPath!, contextSize: 512, slots: 2, threads: 1, gpuLayers: 0, maxQueue: 64, promptCacheBytes: 8 << 20 });
  });
  afterAll(async () => engine?.close());

  /** Two long generations of `priority` filling both slots, then one short interactive request once they stream. */
  async function contend(priority: Priority) {
    // One text completion and one chat: both continuations are exercised. Greedy: a continuation
    // is the text so far tokenized again, and a sampled answer now and then holds a token run the
    // tokenizer would not produce (the chat's, 3 in 80 at 0.9 under load); the saved state then
    // shares too short a prefix with the continuation to be worth loading and the continuation
    // evaluates again from there (correct, only slower), which this test would read as no restore.
    const long = (index: number) =>
      index === 1
        ? engine.complete({ model: 'stories', prompt: 'Once upon a time', max_tokens: 400, temperature: 0 }, call(priority))
        : engine.chat({ model: 'stories', messages: [{ role: 'user', content: 'Tell a long story.' }], max_tokens: 400, temperature: 0 }, call(priority));
    let streaming = 0;
    let release!: () => void;
    const bothStreaming = new Promise<void>((resolve) => (release = resolve));
    const onFirst = () => (++streaming === 2 ? release() : undefined);
    // Each has generated a few dozen tokens: a yielded state that long is worth saving and restoring (prompt-cache.ts).
    const fillers = [run(long(1), onFirst, 48), run(long(2), onFirst, 48)];
    await bothStreaming;
    const interactive = await run(
      engine.chat({ model: 'stories', messages: [{ role: 'user', content: 'Tom had a ball.' }], max_tokens: 8 }, call('interactive')),
    );
    return { interactive, fillers: await Promise.all(fillers) };
  }

  test('a batch generation yields its slot at a token boundary and resumes as one answer', async () => {
    const model = engine.loadedModel('stories')!;
    const yieldsBefore = model.yields;
    const resumesBefore = model.resumes;
    const restoredBefore = model.promptCache!.stats.restored;
    const alone = await run(engine.chat({ model: 'stories', messages: [{ role: 'user', content: 'Tom had a ball.' }], max_tokens: 8 }, call('interactive')));
    const { interactive, fillers } = await contend('batch');
    const ttft = interactive.firstAt - interactive.startedAt;
    const token = median(fillers.flatMap((filler) => filler.gaps));
    console.log(
      `interactive TTFT alone: ${(alone.firstAt - alone.startedAt).toFixed(1)} ms, behind batch: ${ttft.toFixed(1)} ms; batch token gap median ${token.toFixed(2)} ms; batch durations ${fillers.map((f) => (f.endedAt - f.startedAt).toFixed(0)).join(', ')} ms`,
    );
    expect(model.yields).toBeGreaterThan(yieldsBefore);
    expect(model.resumes).toBeGreaterThan(resumesBefore);
    // The yielded generation came back to its saved state (the prompt cache), not to an empty slot.
    expect(model.promptCache!.stats.restored).toBeGreaterThan(restoredBefore);
    // The interactive request was answered while the batch generations still had work: it did not wait for either to end.
    expect(interactive.endedAt).toBeLessThan(Math.min(...fillers.map((filler) => filler.endedAt)));
    for (const filler of fillers) {
      // One answer: every token counted once over its segments, the first segment's prompt.
      expect(filler.done.usage.completion_tokens).toBeGreaterThan(0);
      expect(filler.done.usage.completion_tokens).toBeLessThanOrEqual(400);
      expect(filler.done.usage.total_tokens).toBe(filler.done.usage.prompt_tokens + filler.done.usage.completion_tokens);
      expect(filler.text.length).toBeGreaterThan(0);
    }
  }, 120_000);

  test('behind interactive generations the same request waits for one to end', async () => {
    const { interactive, fillers } = await contend('interactive');
    const firstEnd = Math.min(...fillers.map((filler) => filler.endedAt));
    expect(interactive.firstAt).toBeGreaterThanOrEqual(firstEnd - 1);
  }, 120_000);
});

/**
 * Spare slots (decision 0017): batch generations hold every ordinary slot, and an interactive
 * request takes the spare at once; none of them yields, each answers in one segment.
 */
describe.skipIf(skip)('interactive first with a spare slot', () => {
  let engine: LlamaEngine;
  beforeAll(async () => {
    engine = new LlamaEngine('cpu');
    await engine.addModel({
      id: 'stories',
      path: storiesPath!,
      contextSize: 512,
      slots: 2,
      spareSlots: 1,
      threads: 1,
      gpuLayers: 0,
      maxQueue: 64,
      promptCacheBytes: 8 << 20,
    });
  });
  afterAll(async () => engine?.close());

  test('an interactive request beside two streaming batch generations takes the spare: no yield, no resume', async () => {
    const model = engine.loadedModel('stories')!;
    let streaming = 0;
    let release!: () => void;
    const bothStreaming = new Promise<void>((resolve) => (release = resolve));
    const onFirst = () => (++streaming === 2 ? release() : undefined);
    const fillers = [1, 2].map((index) =>
      run(
        engine.chat(
          { model: 'stories', messages: [{ role: 'user', content: `Tell a long story ${index}.` }], max_tokens: 300, temperature: 0.9 },
          call('batch'),
        ),
        onFirst,
      ),
    );
    await bothStreaming;
    const interactive = await run(
      engine.chat({ model: 'stories', messages: [{ role: 'user', content: 'Tom had a ball.' }], max_tokens: 8 }, call('interactive')),
    );
    const done = await Promise.all(fillers);
    console.log(`interactive TTFT beside two batch generations, on the spare: ${(interactive.firstAt - interactive.startedAt).toFixed(1)} ms`);
    expect(interactive.done.servedBy).toBe('stories#2');
    expect(interactive.endedAt).toBeLessThan(Math.min(...done.map((filler) => filler.endedAt)));
    expect(model.spareTakes).toBe(1);
    expect(model.yields).toBe(0);
    expect(model.resumes).toBe(0);
    expect(engine.load().spareTakes).toBe(1);
    for (const filler of done) expect(filler.done.usage.completion_tokens).toBeGreaterThan(0);
  }, 120_000);

  test('with no batch traffic the spare is not taken: a third interactive request waits for one of two to end', async () => {
    const model = engine.loadedModel('stories')!;
    const before = model.spareTakes;
    let streaming = 0;
    let release!: () => void;
    const bothStreaming = new Promise<void>((resolve) => (release = resolve));
    const onFirst = () => (++streaming === 2 ? release() : undefined);
    const long = (index: number) =>
      run(
        engine.chat(
          { model: 'stories', messages: [{ role: 'user', content: `Tell a long story ${index}.` }], max_tokens: 300, temperature: 0.9 },
          call('interactive'),
        ),
        onFirst,
      );
    const fillers = [long(1), long(2)];
    await bothStreaming;
    const third = await run(engine.chat({ model: 'stories', messages: [{ role: 'user', content: 'Tom had a ball.' }], max_tokens: 8 }, call('interactive')));
    const done = await Promise.all(fillers);
    expect(third.firstAt).toBeGreaterThanOrEqual(Math.min(...done.map((filler) => filler.endedAt)) - 1);
    expect(third.done.servedBy).not.toBe('stories#2');
    expect(model.spareTakes).toBe(before);
  }, 120_000);
});

/**
 * The class crosses HTTP, as a pool sends a batch line to its worker: the upstream engine sends
 * `x-nimbus-priority: batch`, and the server behind it (one slot, no spare) makes that generation
 * yield to an interactive request sent to it directly.
 */
describe.skipIf(skip)('interactive first behind HTTP', () => {
  let server: TestServer;
  let engine: OpenAIEngine;
  beforeAll(async () => {
    server = await startTestServer({ mqttUrl: 'off', slots: 1, spareSlots: 0 });
    const config = resolveConfig([
      {
        source: 'test',
        values: {
          providers: [{ id: 'worker', baseUrl: `${server.url}/v1` }],
          upstreamModels: [{ id: 'remote', provider: 'worker', upstreamModel: 'stories' }],
        },
      },
    ]);
    engine = new OpenAIEngine({ providers: config.providers, models: config.upstreamModels, retry: config.retry, breaker: config.breaker, environment: {} });
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await server?.stop();
  });

  test('a batch request sent with the header yields the only slot to an interactive one', async () => {
    let streaming!: () => void;
    const started = new Promise<void>((resolve) => (streaming = resolve));
    const batch = run(engine.complete({ model: 'remote', prompt: 'Once upon a time', max_tokens: 400, temperature: 0.9, stream: true }, call('batch')), () =>
      streaming(),
    );
    await started;
    const sent = performance.now();
    const answer = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories', prompt: 'Tom had a ball.', max_tokens: 4 }),
    });
    expect(answer.status).toBe(200);
    const answeredAt = performance.now();
    const long = await batch;
    console.log(`interactive answered in ${(answeredAt - sent).toFixed(1)} ms; the batch generation took ${(long.endedAt - long.startedAt).toFixed(0)} ms`);
    expect(answeredAt).toBeLessThan(long.endedAt);
    expect(long.done.usage.completion_tokens).toBeGreaterThan(0);
    // What an operator sees: the worker's /metrics counts the yield and the resume.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/nimbus_batch_yields_total\{engine="llama"\} [1-9]/);
    expect(metrics).toMatch(/nimbus_batch_resumes_total\{engine="llama"\} [1-9]/);
  }, 120_000);
});

/** `nimbus serve --spare-slots 1`: the same batch request keeps its only slot, and /metrics counts the spare taken. */
describe.skipIf(skip)('interactive first behind HTTP, with a spare slot', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mqttUrl: 'off', slots: 1, spareSlots: 1 });
  }, 60_000);
  afterAll(async () => server?.stop());

  test('an interactive request beside a streaming batch request takes the spare: no yield', async () => {
    const config = resolveConfig([
      {
        source: 'test',
        values: {
          providers: [{ id: 'worker', baseUrl: `${server.url}/v1` }],
          upstreamModels: [{ id: 'remote', provider: 'worker', upstreamModel: 'stories' }],
        },
      },
    ]);
    const engine = new OpenAIEngine({
      providers: config.providers,
      models: config.upstreamModels,
      retry: config.retry,
      breaker: config.breaker,
      environment: {},
    });
    try {
      let streaming!: () => void;
      const started = new Promise<void>((resolve) => (streaming = resolve));
      const batch = run(engine.complete({ model: 'remote', prompt: 'Once upon a time', max_tokens: 400, temperature: 0.9, stream: true }, call('batch')), () =>
        streaming(),
      );
      await started;
      const answer = await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories', prompt: 'Tom had a ball.', max_tokens: 4 }),
      });
      expect(answer.status).toBe(200);
      const answeredAt = performance.now();
      const long = await batch;
      expect(answeredAt).toBeLessThan(long.endedAt);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/nimbus_interactive_spare_takes_total\{engine="llama"\} 1\b/);
      expect(metrics).toMatch(/nimbus_batch_yields_total\{engine="llama"\} 0\b/);
    } finally {
      await engine.close();
    }
  }, 120_000);
});
