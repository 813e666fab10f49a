/**
 * The Engine contract test: one suite, run against every implementation (the llama engine in
 * process, an OpenAI-compatible upstream, the pool on a worker process), so they cannot drift
 * apart. Each harness serves one small model deterministically at temperature 0.
 */
import { cancellationOf } from '../core/cancellation.js';
import { describe, expect, test } from 'vitest';
import type { Engine, EngineCall, GenerationEvent } from '../core/engine.js';
import { isNimbusError } from '../core/errors.js';

/** What a harness provides: an engine serving `model`, and how to free it. */
export interface EngineHarness {
  engine: Engine;
  model: string;
  /** A prompt and the start of its greedy continuation (the known answer). */
  knownAnswer: { prompt: string; startsWith: string };
  close(): Promise<void>;
}

function call(signal = new AbortController().signal): EngineCall {
  return { requestId: 'contract', cancel: cancellationOf(signal) };
}

/** The text an event carries: its content, or what its verbatim upstream payload carries. */
export function eventText(event: GenerationEvent): string {
  if (event.type !== 'delta') return '';
  if (event.sse !== undefined) {
    const payloads = event.sse.split('\n\n').filter((frame) => frame.startsWith('data: '));
    return payloads.map((frame) => payloadText(frame.slice('data: '.length))).join('');
  }
  if (event.raw === undefined) return event.content ?? '';
  return payloadText(event.raw);
}

/** The text of one verbatim upstream payload (a chunk or a whole body). */
function payloadText(raw: string): string {
  if (!raw.startsWith('{')) return '';
  const parsed = JSON.parse(raw) as { choices?: Array<{ delta?: { content?: string | null }; message?: { content?: string | null }; text?: string }> };
  const choice = parsed.choices?.[0];
  return choice?.delta?.content ?? choice?.message?.content ?? choice?.text ?? '';
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<{ text: string; events: GenerationEvent[] }> {
  const all: GenerationEvent[] = [];
  for await (const event of events) all.push(event);
  return { text: all.map(eventText).join(''), events: all };
}

/** Checks the shape every generation has: deltas, then exactly one `done` with consistent usage. */
function expectWellFormed(events: GenerationEvent[], maxTokens: number): Extract<GenerationEvent, { type: 'done' }> {
  const done = events.filter((event) => event.type === 'done');
  expect(done).toHaveLength(1);
  expect(events[events.length - 1]).toBe(done[0]);
  const last = done[0] as Extract<GenerationEvent, { type: 'done' }>;
  expect(['stop', 'length', 'tool_calls', 'content_filter']).toContain(last.finishReason);
  expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
  expect(last.usage.prompt_tokens).toBeGreaterThan(0);
  expect(last.usage.completion_tokens).toBeLessThanOrEqual(maxTokens);
  return last;
}

/** Registers the contract suite for one implementation. `open` starts a harness; it is closed after. */
export function runEngineContract(name: string, open: () => Promise<EngineHarness>): void {
  describe(`Engine contract: ${name}`, () => {
    let harness: EngineHarness;
    const setup = async (): Promise<EngineHarness> => (harness ??= await open());

    test('lists its model as ready, under its own kind', async () => {
      const { engine, model } = await setup();
      expect(engine.models().find((status) => status.id === model)).toMatchObject({ id: model, engine: engine.kind, state: 'ready' });
    });

    test('a text completion gives the known answer, and exactly one done with consistent usage', async () => {
      const { engine, model, knownAnswer } = await setup();
      const { text, events } = await collect(engine.complete({ model, prompt: knownAnswer.prompt, temperature: 0, max_tokens: 24 }, call()));
      expect(`${knownAnswer.prompt}${text}`.startsWith(knownAnswer.startsWith)).toBe(true);
      expect(expectWellFormed(events, 24).finishReason).toBe('length');
    });

    test('chat streamed and not give the same text at temperature 0', async () => {
      const { engine, model } = await setup();
      const request = { model, messages: [{ role: 'user' as const, content: 'Tell me about a cat.' }], temperature: 0, max_tokens: 16 };
      const whole = await collect(engine.chat(request, call()));
      const streamed = await collect(engine.chat({ ...request, stream: true }, call()));
      expect(streamed.text).toBe(whole.text);
      expect(whole.text.length).toBeGreaterThan(0);
      expect(expectWellFormed(streamed.events, 16).usage.completion_tokens).toBe(expectWellFormed(whole.events, 16).usage.completion_tokens);
    });

    test('an unknown model is refused with model_not_found before the first event (from the call, or the first next)', async () => {
      const { engine } = await setup();
      const refusal = await (async () => {
        try {
          await engine
            .chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }, call())
            [Symbol.asyncIterator]()
            .next();
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      expect(isNimbusError(refusal) && refusal.code).toBe('model_not_found');
    });

    test('an aborted stream stops generating at once: far fewer tokens than asked, and promptly', async () => {
      const { engine, model } = await setup();
      const abort = new AbortController();
      const started = performance.now();
      let deltas = 0;
      let text = '';
      let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
      try {
        for await (const event of engine.complete({ model, prompt: 'Once upon a time', temperature: 0, max_tokens: 400, stream: true }, call(abort.signal))) {
          if (event.type === 'done') done = event;
          else deltas += 1;
          text += eventText(event);
          if (deltas === 3 && !abort.signal.aborted) abort.abort(new Error('client left'));
        }
      } catch {
        // Ending with an error is allowed; generating on, or hanging, is not.
      }
      expect(performance.now() - started).toBeLessThan(5_000);
      // Without the abort the whole answer comes: hundreds of tokens, well over a thousand characters.
      expect(text.length).toBeLessThan(300);
      if (done) {
        expect(done.usage.completion_tokens).toBeLessThan(60);
        expect(done.finishReason).not.toBe('length');
      }
    });

    test('embeds each input, in order, with the same dimension', async () => {
      const { engine, model } = await setup();
      const result = await engine.embed({ model, input: ['a little cat', 'a big red ball'] }, call());
      expect(result.embeddings).toHaveLength(2);
      expect(result.embeddings[0]!.length).toBeGreaterThan(0);
      expect(result.embeddings[1]).toHaveLength(result.embeddings[0]!.length);
      expect(result.promptTokens).toBeGreaterThan(0);
    });

    test('close frees it: the engine serves no more', async () => {
      const opened = await setup();
      const { engine, model } = opened;
      await opened.close();
      const afterClose = (async () => {
        for await (const event of engine.complete({ model, prompt: 'Once', max_tokens: 2 }, call())) void event;
      })();
      await expect(afterClose).rejects.toThrow();
    });
  });
}
