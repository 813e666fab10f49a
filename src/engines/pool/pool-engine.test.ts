import { cancellationOf } from '../../core/cancellation.js';
import { describe, expect, test } from 'vitest';
import type { Attempt, Engine, EngineCall, GenerationEvent } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest } from '../../core/openai/request-schemas.js';
import { createRouter } from '../../cluster/routing/create-router.js';
import { routingKeys } from '../../cluster/routing/routing-keys.js';
import { PoolEngine } from './pool-engine.js';

type Behaviour = 'ok' | 'dead' | 'full' | 'bad-request' | 'dies-mid-stream' | 'slow' | 'hangs' | 'freezes-mid-stream';
const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };

/** A replica's engine that behaves as told and counts its calls. */
function fakeEngine(name: string, behaviour: () => Behaviour) {
  const state = { calls: 0, returned: 0, closed: false, requests: [] as ChatCompletionRequest[] };
  const aborted = (call: EngineCall) => new Promise((_resolve, reject) => call.cancel.onAbort(reject));
  const engine: Engine = {
    kind: 'fake',
    models: () => [],
    chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
      state.calls += 1;
      state.requests.push(request);
      const mode = behaviour();
      if (mode === 'bad-request') throw new NimbusError('invalid_request', 'bad field', { param: 'messages' });
      return (async function* () {
        try {
          if (mode === 'dead') throw new Error(`connect ECONNREFUSED (${name})`);
          if (mode === 'full') throw new NimbusError('queue_full', `${name} is full`);
          // A frozen machine before its first token: nothing comes until the try is cancelled, which the upstream engine throws.
          if (mode === 'hangs') await aborted(call);
          yield { type: 'delta', content: `hello from ${name}` } satisfies GenerationEvent;
          if (mode === 'dies-mid-stream') throw new NimbusError('upstream_error', `${name} died`, { usage });
          if (mode === 'slow') await aborted(call);
          // Frozen mid-stream: once cancelled, the upstream engine ends as for a client that left, with a done.
          if (mode === 'freezes-mid-stream') await aborted(call).catch(() => undefined);
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

function pool(behaviours: Record<string, Behaviour>, healthy: Record<string, boolean> = {}, stalled: Record<string, boolean> = {}) {
  const engine = new PoolEngine({ routingKeys: (request) => routingKeys(request), stallMs: 40 });
  engine.deploy('m', createRouter('round-robin'));
  const fakes = Object.fromEntries(Object.keys(behaviours).map((name) => [name, fakeEngine(name, () => behaviours[name]!)]));
  engine.setReplicas(
    'm',
    Object.keys(behaviours).map((name) => ({
      id: name,
      engine: fakes[name]!.engine,
      healthy: () => healthy[name] ?? true,
      stalled: () => stalled[name] ?? false,
    })),
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
    // Each try once: the failed one with its error, then the one that served.
    expect(attempts).toEqual([
      { model: 'm', servedBy: 'a', error: 'upstream_error' },
      { model: 'm', servedBy: 'b' },
    ]);
    expect(fakes.a!.state.calls).toBe(1);
  });

  test('a full replica (429) is skipped too', async () => {
    const { engine } = pool({ a: 'full', b: 'ok' });
    expect((await collect(engine.chat(chat(), call()))).at(-1)).toMatchObject({ servedBy: 'b' });
  });

  test('a stream cut after its first token continues on another replica from the text already sent', async () => {
    const { engine, fakes } = pool({ a: 'dies-mid-stream', b: 'ok' });
    const attempts: Attempt[] = [];
    const events = await collect(engine.chat({ ...chat(), max_tokens: 10 }, call(attempts)));
    expect(events.slice(0, 2)).toEqual([
      { type: 'delta', content: 'hello from a' },
      { type: 'delta', content: 'hello from b' },
    ]);
    // b was asked to go on with a's text as the assistant's answer so far, for the tokens still allowed.
    expect(fakes.b!.state.requests[0]).toMatchObject({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello from a' },
      ],
      max_tokens: 9,
    });
    // The continuation's prompt counted a's text, which is output; estimated, as a never reported its own.
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop', usage: { prompt_tokens: 2, completion_tokens: 3, estimated: true } });
    expect(attempts).toEqual([
      { model: 'm', servedBy: 'a' },
      { model: 'm', servedBy: 'a', error: 'upstream_error' },
      { model: 'm', servedBy: 'b', continued: true },
    ]);
    expect(engine.inFlight('m')).toBe(0);
  });

  test('a cut stream that cannot be continued (tool calls, a grammar, no replica left) ends with the error', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }];
    const withTools = pool({ a: 'dies-mid-stream', b: 'ok' });
    const events: GenerationEvent[] = [];
    await expect(
      (async () => {
        for await (const event of withTools.engine.chat({ ...chat(), tools }, call())) events.push(event);
      })(),
    ).rejects.toMatchObject({ code: 'upstream_error', usage });
    expect(events).toEqual([{ type: 'delta', content: 'hello from a' }]);
    expect(withTools.fakes.b!.state.calls).toBe(0);
    const json = pool({ a: 'dies-mid-stream', b: 'ok' });
    await expect(collect(json.engine.chat({ ...chat(), response_format: { type: 'json_object' } }, call()))).rejects.toMatchObject({ code: 'upstream_error' });
    const alone = pool({ a: 'dies-mid-stream' });
    await expect(collect(alone.engine.chat(chat(), call()))).rejects.toMatchObject({ code: 'upstream_error' });
  });

  test('a frozen replica: tries on it are abandoned once it stalls, before the first token retried, mid-stream continued', async () => {
    const stalled: Record<string, boolean> = {};
    const { engine, fakes } = pool({ a: 'hangs', b: 'ok' }, {}, stalled);
    const attempts: Attempt[] = [];
    const answer = collect(engine.chat(chat(), call(attempts)));
    await new Promise((resolve) => setTimeout(resolve, 60));
    // Silent, but its worker still beats: nothing moves.
    expect(fakes.b!.state.calls).toBe(0);
    stalled.a = true;
    expect((await answer).at(-1)).toMatchObject({ type: 'done', servedBy: 'b' });
    expect(attempts).toEqual([
      { model: 'm', servedBy: 'a', error: 'worker_lost' },
      { model: 'm', servedBy: 'b' },
    ]);
    // A stalled replica takes no new request.
    expect(engine.models()[0]!.servedBy).toEqual(['b']);

    const frozen: Record<string, boolean> = {};
    const mid = pool({ a: 'freezes-mid-stream', b: 'ok' }, {}, frozen);
    const streamed = collect(mid.engine.chat(chat(), call()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    frozen.a = true;
    const events = await streamed;
    expect(events.map((event) => (event.type === 'delta' ? event.content : event.type))).toEqual(['hello from a', 'hello from b', 'done']);
  });

  test('when every replica looks stalled (this process paused, say), nothing is abandoned and requests still go to them', async () => {
    const stalled = { a: true, b: true };
    const { engine } = pool({ a: 'slow', b: 'slow' }, {}, stalled);
    expect(engine.models()[0]).toMatchObject({ state: 'ready', servedBy: ['a', 'b'] });
    const controller = new AbortController();
    const iterator = engine.chat(chat(), call([], controller.signal))[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ content: 'hello from a' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(engine.inFlight('m', 'a')).toBe(1);
    await iterator.return?.();
  });

  test('a replica taken out of the pool mid-stream (its worker lost) hands its streams to another', async () => {
    const { engine, fakes } = pool({ a: 'freezes-mid-stream', b: 'ok' });
    const iterator = engine.chat(chat(), call())[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: 'delta', content: 'hello from a' });
    engine.setReplicas('m', [{ id: 'b', engine: fakes.b!.engine }]);
    expect((await iterator.next()).value).toEqual({ type: 'delta', content: 'hello from b' });
    expect((await iterator.next()).value).toMatchObject({ type: 'done', servedBy: 'b' });
  });

  test('when every replica leaves at once (this process paused, say), running streams are left to finish where they run', async () => {
    const { engine, fakes } = pool({ a: 'freezes-mid-stream', b: 'ok' });
    const iterator = engine.chat(chat(), call())[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: 'delta', content: 'hello from a' });
    engine.setReplicas('m', []);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(engine.inFlight('m')).toBe(0);
    expect(fakes.a!.state.returned).toBe(0);
    await iterator.return?.();
  });

  test('a cut text completion continues from its prompt and the text so far; a spent budget ends at its length', async () => {
    const { engine } = pool({ a: 'dies-mid-stream', b: 'ok' });
    const requests: unknown[] = [];
    const fakeComplete = engine as unknown as { deployments: Map<string, { replicas: Array<{ engine: Engine }> }> };
    for (const replica of fakeComplete.deployments.get('m')!.replicas) {
      const chatOf = replica.engine.chat.bind(replica.engine);
      replica.engine.complete = (request, replicaCall) => {
        requests.push(request);
        return chatOf({ model: 'm', messages: [{ role: 'user', content: request.prompt }] }, replicaCall);
      };
    }
    await collect(engine.complete({ model: 'm', prompt: 'Once', max_tokens: 4 }, call()));
    expect(requests[1]).toMatchObject({ prompt: 'Oncehello from a', max_tokens: 3 });
    const spent = await collect(pool({ a: 'dies-mid-stream', b: 'ok' }).engine.chat({ ...chat(), max_tokens: 1 }, call()));
    expect(spent.at(-1)).toMatchObject({ type: 'done', finishReason: 'length', usage: { completion_tokens: 1, estimated: true } });
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

describe('PoolEngine: batch requests', () => {
  test('a batch request goes to the replica running fewest requests, carries its class, and is not reported to the router', async () => {
    const priorities: Array<string | undefined> = [];
    const observed: string[] = [];
    const asked: Array<string | undefined> = [];
    const router = {
      order: <T extends { id: string }>(request: { priority?: string }, candidates: readonly T[]) => (asked.push(request.priority), [...candidates]),
      observe: (outcome: { kind: string }) => observed.push(outcome.kind),
    };
    const busy = fakeEngine('a', () => 'slow');
    const idle = fakeEngine('b', () => 'ok');
    const recordPriority = (engine: Engine): Engine => ({
      ...engine,
      chat: (request, engineCall) => (priorities.push(engineCall.priority), engine.chat(request, engineCall)),
    });
    const pool = new PoolEngine();
    pool.deploy('m', router);
    pool.setReplicas('m', [
      { id: 'a', engine: recordPriority(busy.engine) },
      { id: 'b', engine: recordPriority(idle.engine) },
    ]);
    // An interactive request holds replica a (first in the router's order).
    const holding = new AbortController();
    const first = pool.chat(chat(), call([], holding.signal))[Symbol.asyncIterator]();
    await first.next();
    const attempts: Attempt[] = [];
    const events: GenerationEvent[] = [];
    for await (const event of pool.chat(chat(), { ...call(attempts), priority: 'batch' })) events.push(event);
    expect(attempts.map((attempt) => attempt.servedBy)).toEqual(['b']);
    expect(priorities).toEqual([undefined, 'batch']);
    expect(asked).toEqual(['interactive', 'batch']);
    // Only the interactive request was reported (sent, first token); the batch one not at all.
    expect(observed).toEqual(['sent', 'first-token']);
    holding.abort(new Error('done'));
    await first.return?.();
    await pool.close();
  });
});

describe('PoolEngine: workers’ cache reports', () => {
  test('a replica reported holding the prompt is tried first; a later report that drops it moves the next request', async () => {
    const engine = new PoolEngine({ routingKeys: (request) => routingKeys(request) });
    engine.deploy('m', createRouter('estimated-ttft'));
    const fakes = { a: fakeEngine('a', () => 'ok'), b: fakeEngine('b', () => 'ok') };
    engine.setReplicas('m', [
      { id: 'a', engine: fakes.a.engine },
      { id: 'b', engine: fakes.b.engine },
    ]);
    const long = chat('a long shared document '.repeat(1000));
    const keys = routingKeys(long).prefixKeys!;
    expect(keys.length).toBeGreaterThan(8);
    engine.cached('m', 'b', keys, true);
    expect((await collect(engine.chat(long, call()))).at(-1)).toMatchObject({ servedBy: 'b' });
    // b's cache lost it (evicted), a's holds it (another control plane sent it there).
    engine.cached('m', 'b', [], true);
    engine.cached('m', 'a', keys, true);
    expect((await collect(engine.chat(long, call()))).at(-1)).toMatchObject({ servedBy: 'a' });
    // A report for a deployment this engine does not serve is ignored.
    engine.cached('gone', 'a', keys, true);
    await engine.close();
  });
});
