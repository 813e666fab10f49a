/**
 * A slot's sequence renewed (after a generation that failed or was cut before its first token)
 * fails no other request meanwhile. The real engine (stories260K, threads 1, 2 slots): a
 * long-prompt chat is cancelled while its prompt waits behind another's evaluation, which renews its slot's sequence
 * (loaded-model.ts, `renew`); until the new sequence is made, that slot's LlamaChat is disposed,
 * and every chat prompt used to be rendered through slot 0's, so a chat request arriving then
 * failed at once with "Object is disposed", whatever slot it would have run on. A batch feeds
 * lines as fast as they fail: one bench run read a 10,000-line batch as completed with 51 lines
 * answered and the rest failed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cancellation } from '../src/core/cancellation.js';
import type { EngineCall, GenerationEvent } from '../src/core/engine.js';
import type { ChatCompletionRequest } from '../src/core/openai/request-schemas.js';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();

/** About 420 tokens: its evaluation holds llama.cpp's context lock long enough for the renew to wait on it. */
const longChat = (tag: string): ChatCompletionRequest => ({
  model: 'stories',
  messages: [
    {
      role: 'user',
      content: `Story ${tag}. ` + 'Once upon a time there was a little girl named Lily who loved to play in the park with her red ball. '.repeat(12),
    },
  ],
  max_tokens: 8,
});

const call = (cancel = new Cancellation()): EngineCall => ({ requestId: 'test', cancel });

/** Text and the slot that served one generation, or its failure. */
async function drain(events: AsyncIterable<GenerationEvent>): Promise<{ text: string; servedBy?: string; error?: Error }> {
  let text = '';
  let servedBy: string | undefined;
  try {
    for await (const event of events) {
      if (event.type === 'delta') text += event.content ?? '';
      else if (event.type === 'done') servedBy = event.servedBy;
    }
    return { text, servedBy };
  } catch (error) {
    return { text, error: error as Error };
  }
}

describe.skipIf(skip)('llama: a slot being renewed', () => {
  let engine: LlamaEngine;
  beforeAll(async () => {
    engine = new LlamaEngine('cpu');
    await engine.addModel({ id: 'stories', path: storiesPath!, contextSize: 512, slots: 2, threads: 1, gpuLayers: 0, maxQueue: 64, promptCacheBytes: 8 << 20 });
  });
  afterAll(async () => engine?.close());

  test('a chat request that comes while a slot renews its sequence is served, not refused', async () => {
    const model = engine.loadedModel('stories')!;
    const cutSlots = new Set<string>();
    // Each try renews the cut request's slot (it gave out nothing: the library threw); the slots alternate between tries.
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const cancel = new Cancellation();
      // The other request's prompt is evaluated first and holds llama.cpp's context lock; the cut
      // one is cut while it waits behind, so the library throws at once and the renew waits for that lock.
      const other = drain(engine.chat(longChat(`other-${attempt}`), call()));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const cut = drain(engine.chat(longChat(`cut-${attempt}`), call(cancel)));
      let settled = false;
      void cut.finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 2));
      cancel.abort(new Error('client gone'));
      const refused: string[] = [];
      let probes = 0;
      // Until the cut request settles (its slot renewed), a chat request is started at every turn of the event loop.
      while (!settled) {
        try {
          // Rendering its prompt happens here, before it waits for a slot; it is not run any further.
          engine.chat(longChat(`probe-${attempt}-${probes}`), call());
        } catch (error) {
          refused.push((error as Error).message);
        }
        probes += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const outcome = await cut;
      expect(outcome.error?.message).toBe('client gone');
      expect(outcome.text).toBe('');
      expect(probes).toBeGreaterThan(0);
      expect(refused).toEqual([]);
      const served = await other;
      expect(served.error).toBeUndefined();
      cutSlots.add(served.servedBy === 'stories#0' ? 'stories#1' : 'stories#0');
    }
    // Slot 0 was among those renewed (its LlamaChat rendered every prompt before the fix): the probes above meant something.
    expect(cutSlots.has('stories#0')).toBe(true);
    // The slot still serves, with its new sequence.
    const after = await drain(engine.chat(longChat('after'), call()));
    expect(after.error).toBeUndefined();
    expect(after.text.length).toBeGreaterThan(0);
    expect(model.active).toBe(0);
  }, 120_000);
});
