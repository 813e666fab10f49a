import { cancellationOf } from '../../core/cancellation.js';
import { describe, expect, test } from 'vitest';
import type { Attempt, Engine, EngineCall, GenerationEvent } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import { createRouter } from '../../cluster/routing/create-router.js';
import { routingKeys } from '../../cluster/routing/routing-keys.js';
import { PoolEngine } from './pool-engine.js';

type Behaviour = 'ok' | 'dead' | 'full' | 'bad-request' | 'dies-mid-stream' | 'slow';
const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };

/** A replica's engine that behaves as told and counts its calls. */
function fakeEngine(name: string, behaviour: () => Behaviour) {
  const state = { calls: 0, returned: 0, closed: false };
  const engine: Engine = {
    kind: 'fake',
    models: () => [],
    chat(_request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
      state.calls += 1;
      const mode = behaviour();
      if (mode === 'bad-request') throw new NimbusError('invalid_request', 'bad field', { param: 'messages' });
      return (async function* () {
        try {
          if (mode === 'dead') throw new Error(`connect ECONNREFUSED (${name})`);
          if (mode === 'full') throw new NimbusError('queue_full', `${name} is full`);
          yield { type: 'delta', content: `hello from ${name}` } satisfies GenerationEvent;
          if (mode === 'dies-mid-stream') throw new NimbusError('upstream_error', `${name} died`, { usage });
          if (mode === 'slow') await new Promise((resolve, reject) => call.cancel.onAbort(reject));
          yield { type: 'done', finishReason: 'stop', usage } satisfies GenerationEvent;
        } finally {
          state.returned += 1;
        }
      })();
    },
    complete: () => {
      throw new Error('unused');
    },
    embed: async (request) => {
      state.calls += 1;
      if (behaviour() === 'dead') throw new Error('connect ECONNREFUSED');
      return { embeddings: request.input.map(() => [1]), promptTokens: 1 };
    },
    load: () => ({ active: 0, queued: 0 }),
    close: async () => void (state.closed = true),
  };
  return { engine, state };
}

const chat = (content = 'hi', user?: string): ChatCompletionRequest => ({ model: 'm', messages: [{ role: 'user', content }], ...(user ? { user } : {}) });

function call(attempts: Attempt[] = [], signal = new AbortController().signal): EngineCall {
  return { requestId: 'r1', cancel: cancellationOf(signal), onAttempt: (attempt) => attempts.push(attempt) };
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const all: GenerationEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

function pool(behaviours: Record<string, Behaviour>, healthy: Record<string, boolean> = {}) {
  const engine = new PoolEngine({ routingKeys: (request) => routingKeys(request) });
  engine.deploy('m', createRouter('round-robin'));
  const fakes = Object.fromEntries(Object.keys(behaviours).map((name) => [name, fakeEngine(name, () => behaviours[name]!)]));
  engine.setReplicas(
    'm',
    Object.keys(behaviours).map((name) => ({ id: name, engine: fakes[name]!.engine, healthy: () => healthy[name] ?? true })),
  );
  return { engine, fakes };
}

describe('PoolEngine', () => {
  test('serves from a replica and reports which one', async () => {
    const { engine } = pool({ a: 'ok', b: 'ok' });
    const attempts: Attempt[] = [];
    const events = await collect(engine.chat(chat(), call(attempts)));
    expect(events.at(-1)).toMatchObject({ type: 'done', servedBy: 'a' });
    expect(attempts).toEqual([{ model: 'm', servedBy: 'a' }]);
  });

  test('a dead worker before the first token: the request is retried on the next replica', async () => {
    const { engine, fakes } = pool({ a: 'dead', b: 'ok' });
    const attempts: Attempt[] = [];
    const events = await collect(engine.chat(chat(), call(attempts)));
    expect(events[0]).toEqual({ type: 'delta', content: 'hello from b' });
    expect(attempts).toEqual([
      { model: 'm', servedBy: 'a' },
      { model: 'm', servedBy: 'a', error: 'upstream_error' },
      { model: 'm', servedBy: 'b' },
    ]);
    expect(fakes.a!.state.calls).toBe(1);
  });

  test('a full replica (429) is skipped too', async () => {
    const { engine } = pool({ a: 'full', b: 'ok' });
    expect((await collect(engine.chat(chat(), call()))).at(-1)).toMatchObject({ servedBy: 'b' });
  });

  test('after the first token a failure ends the stream with the error, and is not retried', async () => {
    const { engine, fakes } = pool({ a: 'dies-mid-stream', b: 'ok' });
    const events: GenerationEvent[] = [];
    await expect(
      (async () => {
        for await (const event of engine.chat(chat(), call())) events.push(event);
      })(),
    ).rejects.toMatchObject({ code: 'upstream_error', usage });
    expect(events).toEqual([{ type: 'delta', content: 'hello from a' }]);
    expect(fakes.b!.state.calls).toBe(0);
  });

  test('a request error is not retried: another replica would refuse it too', async () => {
    const { engine, fakes } = pool({ a: 'bad-request', b: 'ok' });
    await expect(collect(engine.chat(chat(), call()))).rejects.toMatchObject({ code: 'invalid_request' });
    expect(fakes.b!.state.calls).toBe(0);
  });

  test('every replica dead: a clean error that says where to look, nothing hangs', async () => {
    const { engine } = pool({ a: 'dead', b: 'dead' });
    await expect(collect(engine.chat(chat(), call()))).rejects.toMatchObject({
      code: 'upstream_error',
      message: expect.stringMatching(/Every replica of 'm' failed.*nimbus workers/),
    });
  });

  test('unhealthy replicas are never tried; none healthy is a retryable model_not_ready', async () => {
    const { engine, fakes } = pool({ a: 'ok', b: 'ok' }, { a: false });
    for (let index = 0; index < 3; index += 1) await collect(engine.chat(chat(), call()));
    expect(fakes.a!.state.calls).toBe(0);
    const down = pool({ a: 'ok' }, { a: false });
    await expect(collect(down.engine.chat(chat(), call()))).rejects.toMatchObject({ code: 'model_not_ready' });
    expect(down.engine.models()[0]).toMatchObject({ state: 'loading', servedBy: [] });
  });

  test('a deployment that holds requests waits for a replica instead of a 503, then serves from it', async () => {
    const fake = fakeEngine('a', () => 'ok');
    let ready = false;
    const waits: string[] = [];
    let wake: () => void = () => undefined;
    const engine = new PoolEngine({
      replicaWait: {
        holds: (model) => model === 'm',
        wait: (model) => {
          waits.push(model);
          return new Promise<void>((resolve) => (wake = resolve));
        },
      },
    });
    engine.deploy('m', createRouter('round-robin'));
    engine.setReplicas('m', [{ id: 'a', engine: fake.engine, healthy: () => ready }]);
    // Held at zero replicas it is still a model clients may call.
    expect(engine.models()[0]).toMatchObject({ state: 'ready', servedBy: [] });
    const answer = collect(engine.chat(chat(), call()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waits).toEqual(['m']);
    expect(fake.state.calls).toBe(0);
    ready = true;
    wake();
    expect((await answer).at(-1)).toMatchObject({ type: 'done', servedBy: 'a' });
    expect(engine.inFlight('m')).toBe(0);
  });

  test('a hold that ends without a replica (timeout) is the wait’s own error; a deployment that does not hold never waits', async () => {
    const engine = new PoolEngine({
      replicaWait: { holds: () => true, wait: async () => Promise.reject(new NimbusError('model_not_ready', 'no replica within 1 s')) },
    });
    engine.deploy('m', createRouter('round-robin'));
    await expect(collect(engine.chat(chat(), call()))).rejects.toMatchObject({ code: 'model_not_ready', message: 'no replica within 1 s' });
    const plain = pool({ a: 'ok' }, { a: false });
    await expect(collect(plain.engine.chat(chat(), call()))).rejects.toMatchObject({
      code: 'model_not_ready',
      message: expect.stringContaining('the pool is placing it'),
    });
  });

  test('an unknown model is model_not_found', async () => {
    const { engine } = pool({ a: 'ok' });
    await expect(collect(engine.chat({ ...chat(), model: 'nope' }, call()))).rejects.toMatchObject({ code: 'model_not_found' });
  });

  test('a client that leaves mid-stream frees the replica and its generation', async () => {
    const { engine, fakes } = pool({ a: 'slow' });
    const controller = new AbortController();
    const iterator = engine.chat(chat(), call([], controller.signal))[Symbol.asyncIterator]();
    await iterator.next();
    expect(engine.load().active).toBe(1);
    expect([engine.inFlight('m'), engine.inFlight('m', 'a'), engine.inFlight('m', 'b')]).toEqual([1, 1, 0]);
    await iterator.return?.();
    expect(engine.load().active).toBe(0);
    expect(fakes.a!.state.returned).toBe(1);
  });

  test('routing keys reach the policy: session affinity keeps a user on one replica', async () => {
    const engine = new PoolEngine({ routingKeys: (request) => routingKeys(request) });
    engine.deploy('m', createRouter('session-affinity'));
    const fakes = ['a', 'b', 'c'].map((name) => fakeEngine(name, () => 'ok'));
    engine.setReplicas(
      'm',
      fakes.map((fake, index) => ({ id: 'abc'[index]!, engine: fake.engine })),
    );
    const servedBy = new Set<string | undefined>();
    for (let index = 0; index < 6; index += 1) {
      const done = (await collect(engine.chat(chat(`question ${index}`, 'alice'), call()))).at(-1);
      servedBy.add(done?.type === 'done' ? done.servedBy : undefined);
    }
    expect(servedBy.size).toBe(1);
  });

  test('embeddings fail over the same way', async () => {
    const { engine } = pool({ a: 'dead', b: 'ok' });
    expect(await engine.embed({ model: 'm', input: ['x', 'y'] }, call())).toEqual({ embeddings: [[1], [1]], promptTokens: 1 });
  });

  test('setReplicas keeps the counters of replicas that stay; models() lists healthy ones; close closes engines', async () => {
    const { engine, fakes } = pool({ a: 'ok', b: 'ok' });
    expect(engine.models()).toEqual([expect.objectContaining({ id: 'm', engine: 'pool', state: 'ready', servedBy: ['a', 'b'] })]);
    engine.setReplicas('m', [{ id: 'b', engine: fakes.b!.engine }]);
    expect(engine.models()[0]!.servedBy).toEqual(['b']);
    await engine.close();
    expect(fakes.b!.state.closed).toBe(true);
  });
});
