/**
 * One request's trouble never fails the others decoded in the same llama.cpp batch (issue 20,
 * item 0). The real engine (stories260K, threads 1): a saved prompt state whose file vanished
 * before its load is a miss, and a slot whose sequence is out of step with llama.cpp's cells
 * (what such a load used to leave behind) fails none of the requests it shares a batch with.
 */
import { readdirSync, rmSync } from 'node:fs';
import type { LlamaContextSequence } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cancellationOf } from '../src/core/cancellation.js';
import type { GenerationEvent } from '../src/core/engine.js';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();

/** Prompts that share long prefixes in pairs, so later ones restore what earlier ones left. */
const stories = ['a little cat named Tom who loved milk', 'a big dog who ran in the park every day', 'a girl who had a red ball and a blue kite'];
const longPrompt = (story: string, ending: string): string => `Once upon a time there was ${story}. ${story}. ${story}. One day ${ending}`;

async function complete(engine: LlamaEngine, prompt: string): Promise<{ text: string; done: Extract<GenerationEvent, { type: 'done' }> }> {
  let text = '';
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  const events = engine.complete(
    { model: 'stories', prompt, max_tokens: 24, temperature: 0.7, stream: true },
    { requestId: 'test', cancel: cancellationOf(new AbortController().signal) },
  );
  for await (const event of events) {
    if (event.type === 'delta') text += event.content ?? '';
    else done = event;
  }
  if (!done) throw new Error('no done event');
  return { text, done };
}

/** Every request settles; the reasons of those that failed. */
async function failures(runs: Array<Promise<unknown>>): Promise<string[]> {
  const settled = await Promise.allSettled(runs);
  return settled.flatMap((result) => (result.status === 'rejected' ? [String((result.reason as Error).message)] : []));
}

describe.skipIf(skip)('llama batches: one request never fails the others', () => {
  let engine: LlamaEngine;
  beforeAll(async () => {
    engine = new LlamaEngine('cpu');
    await engine.addModel({ id: 'stories', path: storiesPath!, contextSize: 512, slots: 4, threads: 1, gpuLayers: 0, maxQueue: 64, promptCacheBytes: 8 << 20 });
  });
  afterAll(async () => engine?.close());

  test('a saved state whose file is gone before its load is a miss: the prompt is evaluated and every request completes', async () => {
    const cache = engine.loadedModel('stories')!.promptCache!;
    // Fill the slots and then push their states into the prompt cache with other prompts.
    for (let round = 0; round < 3; round += 1) {
      expect(
        await failures(
          stories.flatMap((story) => [complete(engine, longPrompt(story, `round ${round} a`)), complete(engine, `${round} a fresh start ${story}`)]),
        ),
      ).toEqual([]);
    }
    expect(cache.stats.saved).toBeGreaterThan(0);
    // The files vanish behind the cache's back (the race an eviction used to lose).
    const folders = readdirSync('/dev/shm').filter((name) => name.startsWith(`nimbus-prompt-cache-${process.pid}-`));
    expect(folders.length).toBeGreaterThan(0);
    for (const folder of folders) for (const file of readdirSync(`/dev/shm/${folder}`)) rmSync(`/dev/shm/${folder}/${file}`);
    const failedBefore = cache.stats.failedLoads;
    for (let round = 0; round < 3; round += 1) {
      const runs = stories.flatMap((story) => [
        complete(engine, longPrompt(story, `the end ${round}`)),
        complete(engine, `${round} yet another start ${story}`),
      ]);
      expect(await failures(runs)).toEqual([]);
    }
    expect(cache.stats.failedLoads).toBeGreaterThan(failedBefore);
  });

  test('a slot whose sequence is out of step with llama.cpp fails none of the requests batched with it', async () => {
    const model = engine.loadedModel('stories')!;
    // The state a failed load left before the fix: node-llama-cpp forgets the tokens, llama.cpp
    // keeps the cells; the next decode of that sequence fails llama.cpp's position check.
    const slots = (model as unknown as { slots: Array<{ sequence: LlamaContextSequence }> }).slots;
    expect(await failures(slots.map((_, index) => complete(engine, longPrompt(stories[index % 3]!, `to fill slot ${index}`))))).toEqual([]);
    for (const slot of slots) {
      expect(slot.sequence.contextTokens.length).toBeGreaterThan(0);
      await slot.sequence.loadStateFromFile('/nonexistent/nimbus-state', { acceptRisk: true }).catch(() => undefined);
      expect(slot.sequence.contextTokens).toHaveLength(0);
    }
    const runs = Array.from({ length: 8 }, (_, index) => complete(engine, longPrompt(stories[index % 3]!, `number ${index}`)));
    expect(await failures(runs)).toEqual([]);
    const results = await Promise.all(runs);
    for (const { done } of results) expect(done.usage.completion_tokens).toBeGreaterThan(0);
    // And the slots serve on afterwards.
    expect(await failures(Array.from({ length: 4 }, (_, index) => complete(engine, `after ${index}`)))).toEqual([]);
  });
});
