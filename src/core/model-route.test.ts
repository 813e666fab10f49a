import { Cancellation } from './cancellation.js';
import { describe, expect, test } from 'vitest';
import type { Attempt, EmbeddingResult, Engine, EngineCall, GenerationEvent, ModelStatus } from './engine.js';
import { NimbusError } from './errors.js';
import { ModelCatalog } from './model-catalog.js';
import type { ChatCompletionRequest } from './openai/request-schemas.js';

/** An engine serving `models`; a model listed in `failures` throws that error before its first event. */
function fakeEngine(kind: string, models: string[], failures: Record<string, NimbusError> = {}): Engine & { asked: string[] } {
  const asked: string[] = [];
  return {
    kind,
    asked,
    models: (): ModelStatus[] => models.map((id) => ({ id, engine: kind, state: 'ready', created: 0 })),
    async *chat(request: ChatCompletionRequest): AsyncGenerator<GenerationEvent> {
      asked.push(request.model);
      const failure = failures[request.model];
      if (failure) throw failure;
      yield { type: 'delta', content: `from ${request.model}` };
      yield { type: 'done', finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    },
    complete: () => {
      throw new Error('unused');
    },
    embed: async (request): Promise<EmbeddingResult> => {
      asked.push(request.model);
      const failure = failures[request.model];
      if (failure) throw failure;
      return { embeddings: [[1]], promptTokens: 1 };
    },
    load: () => ({ active: 0, queued: 0 }),
    close: async () => undefined,
  };
}

const unavailable = new NimbusError('upstream_error', 'down');
const badRequest = new NimbusError('invalid_value', 'bad', { param: 'max_tokens' });

async function run(catalog: ModelCatalog, model: string): Promise<{ text: string; attempts: Attempt[] }> {
  const attempts: Attempt[] = [];
  const call: EngineCall = { requestId: 'r', cancel: new Cancellation(), onAttempt: (attempt) => attempts.push(attempt) };
  let text = '';
  for await (const event of catalog.route(model).chat({ model, messages: [{ role: 'user', content: 'hi' }] }, call))
    if (event.type === 'delta') text += event.content ?? '';
  return { text, attempts };
}

describe('ModelCatalog aliases and fallbacks', () => {
  test('an alias is served by its model, under the model name', async () => {
    const engine = fakeEngine('e', ['big']);
    const catalog = new ModelCatalog([engine], { aliases: { 'gpt-4o-mini': 'big' } });
    expect(catalog.canonical('gpt-4o-mini')).toBe('big');
    expect(catalog.resolve('gpt-4o-mini')).toBe(engine);
    expect(await run(catalog, 'gpt-4o-mini')).toEqual({ text: 'from big', attempts: [{ model: 'big' }] });
    expect(catalog.aliases()).toEqual([{ alias: 'gpt-4o-mini', model: 'big' }]);
  });

  test('an alias of a model no engine serves is a 404 that says so', () => {
    const catalog = new ModelCatalog([fakeEngine('e', ['big'])], { aliases: { a: 'missing' } });
    expect(() => catalog.route('a')).toThrow(/is an alias of 'missing', which this server does not serve/);
    expect(catalog.routingProblems()).toEqual(["alias 'a' points to 'missing', which no engine serves"]);
  });

  test('an unavailable model falls back, across engines, and every model tried is reported', async () => {
    const remote = fakeEngine('remote', ['big'], { big: unavailable });
    const local = fakeEngine('local', ['small']);
    const catalog = new ModelCatalog([remote, local], { fallbacks: { big: ['small'] } });
    expect(await run(catalog, 'big')).toEqual({ text: 'from small', attempts: [{ model: 'big', error: 'upstream_error' }, { model: 'small' }] });
  });

  test('a request the model refuses (not retryable) does not fall back', async () => {
    const catalog = new ModelCatalog([fakeEngine('e', ['big', 'small'], { big: badRequest })], { fallbacks: { big: ['small'] } });
    await expect(run(catalog, 'big')).rejects.toBe(badRequest);
  });

  test('when the whole chain fails, the last error is thrown', async () => {
    const last = new NimbusError('queue_full', 'busy');
    const catalog = new ModelCatalog([fakeEngine('e', ['a', 'b'], { a: unavailable, b: last })], { fallbacks: { a: ['b'] } });
    await expect(run(catalog, 'a')).rejects.toBe(last);
  });

  test('fallbacks that no engine serves, repeat, or name the model itself are skipped', () => {
    const catalog = new ModelCatalog([fakeEngine('e', ['a', 'b'])], { fallbacks: { a: ['ghost', 'b', 'b', 'a'] } });
    expect(catalog.route('a').targets.map((target) => target.model)).toEqual(['a', 'b']);
    expect(catalog.routingProblems()).toEqual(["fallback 'ghost' of 'a' is not served by any engine"]);
  });

  test('fallbacks are not transitive: the fallback model keeps its own chain to itself', () => {
    const catalog = new ModelCatalog([fakeEngine('e', ['a', 'b', 'c'])], { fallbacks: { a: ['b'], b: ['c'] } });
    expect(catalog.route('a').targets.map((target) => target.model)).toEqual(['a', 'b']);
  });

  test('attempts an engine reports itself are not reported twice', async () => {
    const engine = fakeEngine('e', ['m']);
    engine.chat = async function* (request, call) {
      call.onAttempt?.({ model: request.model, servedBy: 'replica-1', error: 'upstream_timeout' });
      call.onAttempt?.({ model: request.model, servedBy: 'replica-2' });
      yield { type: 'done', finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } };
    };
    const { attempts } = await run(new ModelCatalog([engine]), 'm');
    expect(attempts).toEqual([
      { model: 'm', servedBy: 'replica-1', error: 'upstream_timeout' },
      { model: 'm', servedBy: 'replica-2' },
    ]);
  });

  test('embeddings fall back too', async () => {
    const catalog = new ModelCatalog([fakeEngine('e', ['a', 'b'], { a: unavailable })], { fallbacks: { a: ['b'] } });
    const result = await catalog.route('a').embed({ model: 'a', input: ['x'] }, { requestId: 'r', cancel: new Cancellation() });
    expect(result.embeddings).toEqual([[1]]);
  });
});
