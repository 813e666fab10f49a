/**
 * The gateway against a fault-injecting upstream (test/support/fault-upstream.ts): each fault has
 * its exact behaviour. Before the first byte reaches the client, connect errors, timeouts, 5xx
 * and 429 are retried on another replica (Retry-After honoured, tries bounded, breakers counted);
 * after it, the stream ends with a clean error event and the usage so far is still recorded.
 * Events split at every byte lose nothing. A fresh gateway per test keeps breaker states apart.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { RequestLogEntry } from '../src/core/store.js';
import { answerText, answerWords, FaultUpstream, upstreamUsage, type Fault } from './support/fault-upstream.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const shared: Fault[] = [];
let a: FaultUpstream;
let b: FaultUpstream;
let server: TestServer;

// Short enough that the stall tests end soon, long enough that a healthy answer on a busy 2-core
// machine never meets them (300 ms once did: a loaded event loop is slower than that now and then).
const timeouts = { connectTimeoutMs: 2_000, firstTokenTimeoutMs: 1_000, idleTimeoutMs: 1_000, requestTimeoutMs: 2_000 };
/** Polls `condition` every 10 ms for up to 5 s (a wait for what the server does next, not a fixed time). */
async function eventually(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5_000; !condition() && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 10));
}
const user = [{ role: 'user' as const, content: 'Say hello.' }];

beforeAll(async () => {
  a = await FaultUpstream.start(shared);
  b = await FaultUpstream.start(shared);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

beforeEach(async () => {
  shared.length = 0;
  a.reset();
  b.reset();
  server = await startTestServer({
    models: [],
    mqttUrl: 'off',
    providers: [
      {
        id: 'a',
        baseUrl: `${a.url}/v1`,
        ...timeouts,
        forwardFields: ['chat_template_kwargs', 'repetition_penalty', 'guided_choice', 'truncate_prompt_tokens'],
      },
      { id: 'b', baseUrl: `${b.url}/v1`, ...timeouts },
      { id: 'dead', baseUrl: 'http://127.0.0.1:9/v1', ...timeouts },
    ],
    upstreamModels: [
      { id: 'pair', provider: 'a', upstreamModel: 'pair-upstream' },
      { id: 'pair', provider: 'b', upstreamModel: 'pair-upstream' },
      { id: 'solo', provider: 'a' },
      { id: 'plain', provider: 'b' },
      { id: 'gone', provider: 'dead' },
    ],
    fallbacks: { gone: ['solo'] },
    retry: { maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 2, maxRetryAfterMs: 1_000 },
    breaker: { failureThreshold: 2, openMs: 2_000 },
  });
});
afterEach(async () => server?.stop());

/** The breaker state of one replica of one model. */
function replica(model: string, id: string) {
  return server.nimbus.upstream.replicaStates().find((state) => state.model === model && state.replica === id)!;
}

/** The newest request-log row. */
async function lastLogRow(): Promise<RequestLogEntry> {
  await server.nimbus.store.flush();
  return (await server.nimbus.store.listRequests({ limit: 1 }))[0]!;
}

/** The parts of an answer or error body the tests read. */
interface Body {
  choices: Array<{ message: { content: string } }>;
  usage: { completion_tokens: number; estimated?: boolean };
  error: { message: string; type: string; param: string | null; code: string | null };
}

const json = (response: Response): Promise<Body> => response.json() as Promise<Body>;

async function post(body: object): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Reads a stream through the official client: the text, the usage chunk, and the error it ended with. */
async function readStream(model: string, signal?: AbortSignal, stopAfter?: number) {
  const stream = await server.client.chat.completions.create({ model, messages: user, stream: true, stream_options: { include_usage: true } }, { signal });
  let text = '';
  let usage: unknown;
  let finish: string | null = null;
  let error: unknown;
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices[0]?.delta.content) chunks += 1;
      if (stopAfter !== undefined && chunks === stopAfter) stream.controller.abort();
    }
  } catch (caught) {
    error = caught;
  }
  return { text, usage, finish, error };
}

describe('before the first byte: retries', () => {
  test('a 500 is retried once on the other replica, and the route says so', async () => {
    shared.push({ kind: 'status', status: 500 });
    const response = await post({ model: 'pair', messages: user });
    expect(response.status).toBe(200);
    expect((await json(response)).choices[0]!.message.content).toBe(answerText);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
    const route = response.headers.get('x-nimbus-route');
    expect(route).toMatch(/^pair@(a|b) \(upstream_error\), pair@(a|b)$/);
    const [failed, served] = route!.split(', ').map((part) => part.split('@')[1]!.split(' ')[0]!);
    expect(failed).not.toBe(served);
    expect(response.headers.get('x-nimbus-served-by')).toBe(served);
    expect(response.headers.get('x-nimbus-model')).toBe('pair');
    // The provider's own model name went upstream, not the client's.
    expect([...a.requests, ...b.requests].map((request) => request.body.model)).toEqual(['pair-upstream', 'pair-upstream']);
    expect(replica('pair', failed!)).toMatchObject({ breaker: 'closed', consecutiveFailures: 1 });
    expect(await lastLogRow()).toMatchObject({ status: 'ok', route, servedBy: served, promptTokens: 7, completionTokens: 6, usageEstimated: false });
  });

  test('a 500 on every try ends after maxAttempts (3) with a 502 in OpenAI shape carrying the upstream message', async () => {
    a.always = b.always = { kind: 'status', status: 500 };
    const response = await post({ model: 'pair', messages: user });
    expect(response.status).toBe(502);
    const body = await json(response);
    expect(body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' });
    expect(body.error.message).toContain('injected 500');
    expect(body.error.message).toContain('(3 tries, on ');
    expect(a.requests.length + b.requests.length).toBe(3);
    expect(response.headers.get('x-nimbus-route')!.split(', ')).toHaveLength(3);
    expect(await lastLogRow()).toMatchObject({ status: 'error', httpStatus: 502, errorCode: 'upstream_error' });
  });

  test('503 and 504 from the upstream reach the client with their own status', async () => {
    a.always = { kind: 'status', status: 503 };
    const response = await post({ model: 'solo', messages: user });
    expect(response.status).toBe(503);
  });

  test('a whole answer that never comes times out (requestTimeoutMs) and is retried on the other replica', async () => {
    shared.push({ kind: 'stall' });
    const started = performance.now();
    const response = await post({ model: 'pair', messages: user });
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(timeouts.requestTimeoutMs - 10);
    expect(response.headers.get('x-nimbus-route')).toMatch(/^pair@\w+ \(upstream_timeout\), pair@\w+$/);
  });

  test('a stream that stalls after its headers times out (firstTokenTimeoutMs) and is retried before anything reached the client', async () => {
    shared.push({ kind: 'stall-after-headers' });
    const started = performance.now();
    const { text, usage, finish, error } = await readStream('pair');
    // Cut by the first-token timer, not the whole-request one.
    expect(performance.now() - started).toBeGreaterThanOrEqual(timeouts.firstTokenTimeoutMs - 10);
    expect(performance.now() - started).toBeLessThan(timeouts.requestTimeoutMs);
    expect(error).toBeUndefined();
    expect(text).toBe(answerText);
    expect(finish).toBe('stop');
    expect(usage).toEqual(upstreamUsage);
    expect(a.requests.length + b.requests.length).toBe(2);
    expect((await lastLogRow()).route).toMatch(/^pair@\w+ \(upstream_timeout\), pair@\w+$/);
  });

  test('a connect error is retried; when the breaker opens the tries stop, and the fallback model serves', async () => {
    const response = await post({ model: 'gone', messages: user });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-nimbus-model')).toBe('solo');
    // Threshold 2: after two refused connections the breaker of `dead` is open, so the third try is not made.
    const route = 'gone@dead (upstream_error), gone@dead (upstream_error), solo@a';
    expect(response.headers.get('x-nimbus-route')).toBe(route);
    expect(replica('gone', 'dead').breaker).toBe('open');
    expect(await lastLogRow()).toMatchObject({ model: 'solo', requestedModel: 'gone', status: 'ok', route, servedBy: 'a' });
  });
});

describe('429 and Retry-After', () => {
  test('with two replicas: retried at once on the other; the limited one is skipped until its Retry-After passes', async () => {
    // 5 s: the requests below all fall inside it, however slow the machine.
    shared.push({ kind: 'status', status: 429, headers: { 'retry-after': '5' } });
    const started = performance.now();
    const response = await post({ model: 'pair', messages: user });
    expect(response.status).toBe(200);
    // At once: not after the Retry-After, nor after maxRetryAfterMs (1 s).
    expect(performance.now() - started).toBeLessThan(1_000);
    const limited = response.headers.get('x-nimbus-route')!.split('@')[1]!.split(' ')[0]!;
    expect(response.headers.get('x-nimbus-route')).toMatch(/\(rate_limit_exceeded\)/);
    const limitedUpstream = limited === 'a' ? a : b;
    expect(replica('pair', limited)).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
    expect(replica('pair', limited).blockedForMs).toBeGreaterThan(3_000);
    for (let index = 0; index < 3; index += 1) expect((await post({ model: 'pair', messages: user })).status).toBe(200);
    expect(limitedUpstream.requests).toHaveLength(1);
  });

  test('with one replica: the gateway waits the Retry-After (retry-after-ms) and tries the same replica again', async () => {
    a.next({ kind: 'status', status: 429, headers: { 'retry-after-ms': '250' } });
    const response = await post({ model: 'solo', messages: user });
    expect(response.status).toBe(200);
    expect(a.requests).toHaveLength(2);
    expect(a.requests[1]!.at - a.requests[0]!.at).toBeGreaterThanOrEqual(245);
  });

  test('a Retry-After longer than maxRetryAfterMs goes to the client as a 429 with its Retry-After, untried', async () => {
    a.next({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const response = await post({ model: 'solo', messages: user });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect((await json(response)).error.code).toBe('rate_limit_exceeded');
    expect(a.requests).toHaveLength(1);
  });
});

describe('circuit breakers', () => {
  test('a failing replica opens after 2 failures, is skipped while open, and one half-open probe closes it', async () => {
    a.always = { kind: 'status', status: 500 };
    for (let index = 0; index < 6; index += 1) expect((await post({ model: 'pair', messages: user })).status).toBe(200);
    // Round-robin puts `a` first every other request: two of them failed on it, then it was skipped.
    expect(a.requests).toHaveLength(2);
    expect(replica('pair', 'a').breaker).toBe('open');
    a.always = undefined;
    await eventually(() => replica('pair', 'a').breaker !== 'open');
    expect(replica('pair', 'a').breaker).toBe('half-open');
    for (let index = 0; index < 2; index += 1) expect((await post({ model: 'pair', messages: user })).status).toBe(200);
    expect(a.requests).toHaveLength(3);
    expect(replica('pair', 'a')).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
  });

  test('with every breaker open, requests fail at once with 503 and a Retry-After, without touching the upstream', async () => {
    a.always = { kind: 'status', status: 500 };
    expect((await post({ model: 'solo', messages: user })).status).toBe(502);
    expect(a.requests).toHaveLength(2);
    const response = await post({ model: 'solo', messages: user });
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await json(response)).error.message).toContain('circuit breakers are open');
    expect(a.requests).toHaveLength(2);
  });
});

describe('after the first byte', () => {
  test('a connection dropped mid-stream ends with a clean error event, no retry, and the usage so far recorded', async () => {
    a.next({ kind: 'drop-after', events: 3 });
    const started = performance.now();
    const { text, error } = await readStream('solo');
    // At once: no retry, no timer.
    expect(performance.now() - started).toBeLessThan(timeouts.idleTimeoutMs);
    expect(text).toBe(answerWords.slice(0, 3).join(''));
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('incomplete');
    expect(a.requests).toHaveLength(1);
    expect(replica('solo', 'a')).toMatchObject({ breaker: 'closed', consecutiveFailures: 1 });
    const row = await lastLogRow();
    expect(row).toMatchObject({ status: 'error', httpStatus: 200, errorCode: 'upstream_error', completionTokens: 3, usageEstimated: true, finishReason: null });
    expect(row.promptTokens).toBeGreaterThan(0);
  });

  test('an idle gap past idleTimeoutMs ends the stream with an upstream_timeout error event, not a hang', async () => {
    a.next({ kind: 'stall-after', events: 2 });
    const started = performance.now();
    const { text, error } = await readStream('solo');
    expect(performance.now() - started).toBeGreaterThanOrEqual(timeouts.idleTimeoutMs - 10);
    expect(performance.now() - started).toBeLessThan(timeouts.requestTimeoutMs + 2_000);
    expect(text).toBe(answerWords.slice(0, 2).join(''));
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(await lastLogRow()).toMatchObject({ status: 'error', errorCode: 'upstream_timeout', completionTokens: 2, usageEstimated: true });
  });

  test('a client that leaves mid-stream closes the upstream request; the row is cancelled with the tokens it got', async () => {
    a.next({ kind: 'stall-after', events: 3 });
    const controller = new AbortController();
    await readStream('solo', controller.signal, 2);
    // The gateway aborts the upstream request at once, long before the idle timeout.
    await eventually(() => server.nimbus.upstream.load().active === 0);
    expect(server.nimbus.upstream.load().active).toBe(0);
    const row = await lastLogRow();
    expect(row).toMatchObject({ status: 'cancelled', usageEstimated: true });
    expect(row.completionTokens).toBeGreaterThanOrEqual(2);
    expect(replica('solo', 'a')).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
  });
});

test('a client that leaves while a whole answer is pending aborts the upstream request at once, without a verdict', async () => {
  a.next({ kind: 'stall' });
  const controller = new AbortController();
  const pending = fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'solo', messages: user }),
    signal: controller.signal,
  }).catch((error: unknown) => error);
  await eventually(() => a.requests.length > 0);
  controller.abort();
  await pending;
  await eventually(() => server.nimbus.upstream.load().active === 0);
  expect(server.nimbus.upstream.load().active).toBe(0);
  expect(a.requests).toHaveLength(1);
  expect(replica('solo', 'a')).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
  expect(await lastLogRow()).toMatchObject({ kind: 'chat', status: 'cancelled', httpStatus: 499, errorCode: null });
});

test('an embeddings call the client leaves is cancelled in the ledger with 499, not a server error', async () => {
  a.next({ kind: 'stall' });
  const controller = new AbortController();
  const pending = fetch(`${server.url}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'solo', input: 'a little cat' }),
    signal: controller.signal,
  }).catch((error: unknown) => error);
  await eventually(() => a.requests.length > 0);
  controller.abort();
  await pending;
  await eventually(() => server.nimbus.upstream.load().active === 0);
  expect(await lastLogRow()).toMatchObject({ kind: 'embedding', status: 'cancelled', httpStatus: 499, errorCode: null });
});

describe('streams and usage', () => {
  test('events split at every byte arrive whole: same text, exact usage from the upstream', async () => {
    a.next({ kind: 'ok', split: 'byte' });
    const { text, usage, finish, error } = await readStream('solo');
    expect(error).toBeUndefined();
    expect(text).toBe(answerText);
    expect(finish).toBe('stop');
    expect(usage).toEqual(upstreamUsage);
    expect(await lastLogRow()).toMatchObject({ status: 'ok', promptTokens: 7, completionTokens: 6, usageEstimated: false, finishReason: 'stop' });
  });

  test('a burst of 5,000 events in one read pauses the upstream while the client catches up, and loses nothing', async () => {
    a.next({ kind: 'ok', filler: 5_000 });
    const { text, usage, error } = await readStream('solo');
    expect(error).toBeUndefined();
    expect(text).toBe(' x'.repeat(5_000) + answerText);
    expect(usage).toEqual(upstreamUsage);
  });

  test('Nimbus asks the upstream for usage, and passes the usage chunk on only when the client asked for it', async () => {
    const stream = await server.client.chat.completions.create({ model: 'solo', messages: user, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(a.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => chunk.choices.length === 1)).toBe(true);
    expect(await lastLogRow()).toMatchObject({ promptTokens: 7, completionTokens: 6, usageEstimated: false });
  });

  test('fields Nimbus does not know reach a provider that takes them (forwardFields), streamed and not; others, and unknown fields inside messages, do not', async () => {
    const extra = { chat_template_kwargs: { enable_thinking: false }, repetition_penalty: 1.1, guided_choice: ['yes', 'no'] };
    // Options a cloud bills for: a tenant must not set them on the operator's account unless the operator says so.
    const unlisted = { service_tier: 'priority', store: true };
    const messages = [{ role: 'user', content: 'Say hello.', cache_hint: 'x' }];
    const post = async (path: string, body: object) => {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      return response.text();
    };
    expect(JSON.parse(await post('/v1/chat/completions', { model: 'solo', messages, ...extra, ...unlisted })).choices[0].message.content).toBe(answerText);
    expect(await post('/v1/chat/completions', { model: 'solo', messages, stream: true, ...extra, ...unlisted })).toContain('data: [DONE]');
    await post('/v1/completions', { model: 'solo', prompt: 'Once', ...extra, ...unlisted });
    expect(a.requests).toHaveLength(3);
    for (const request of a.requests) {
      expect(request.body).toMatchObject(extra);
      expect(request.body).not.toHaveProperty('service_tier');
      expect(request.body).not.toHaveProperty('store');
    }
    expect(a.requests[0]!.body.messages).toEqual([{ role: 'user', content: 'Say hello.' }]);
    expect(a.requests[1]!.body.stream_options).toEqual({ include_usage: true });
    // A provider that names none gets none.
    await post('/v1/chat/completions', { model: 'plain', messages, max_tokens: 5, ...extra, ...unlisted });
    expect(b.requests.map((request) => request.body)).toEqual([{ model: 'plain', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 5 }]);
  });

  test('embeddings: dimensions and the fields the provider takes reach it, others do not; the vectors come back as floats, which Nimbus encodes as asked', async () => {
    const answer = await server.client.embeddings.create({
      model: 'solo',
      input: ['ab', 'abcd'],
      dimensions: 3,
      encoding_format: 'base64',
      truncate_prompt_tokens: 8,
      service_tier: 'priority',
    } as never);
    expect(a.requests).toHaveLength(1);
    expect(a.requests[0]!.path).toBe('/v1/embeddings');
    expect(a.requests[0]!.body).toEqual({ model: 'solo', input: ['ab', 'abcd'], dimensions: 3, truncate_prompt_tokens: 8 });
    // Asked for base64, the client hands the strings over as they came: little-endian float32s.
    const floats = (encoded: unknown) => [...new Float32Array(new Uint8Array(Buffer.from(encoded as string, 'base64')).buffer)];
    expect(answer.data.map((entry) => floats(entry.embedding))).toEqual([
      [2, 2, 2],
      [4, 4, 4],
    ]);
  });

  test('an upstream without usage: the stream gets an estimated usage chunk, marked estimated, and so does the log', async () => {
    a.next({ kind: 'ok', usage: false });
    const { text, usage } = await readStream('solo');
    expect(text).toBe(answerText);
    expect(usage).toMatchObject({ completion_tokens: answerWords.length, estimated: true });
    expect(await lastLogRow()).toMatchObject({ completionTokens: answerWords.length, usageEstimated: true });
  });

  test('an upstream without usage, not streamed: the body gains an estimated usage', async () => {
    a.next({ kind: 'ok', usage: false });
    const body = await json(await post({ model: 'solo', messages: user }));
    expect(body.choices[0]!.message.content).toBe(answerText);
    expect(body.usage).toMatchObject({ estimated: true });
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect((await lastLogRow()).usageEstimated).toBe(true);
  });
});

describe("the upstream's own errors", () => {
  test('a 400 reaches the client with its status, message, param and code, and is not retried', async () => {
    const error = {
      message: 'max_tokens is too large: 100000. This model supports at most 4096.',
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'invalid_value',
    };
    a.next({ kind: 'status', status: 400, body: JSON.stringify({ error }) });
    const response = await post({ model: 'solo', messages: user, max_tokens: 100_000 });
    expect(response.status).toBe(400);
    expect((await json(response)).error).toEqual({ ...error, type: 'invalid_request_error' });
    expect(a.requests).toHaveLength(1);
    expect(replica('solo', 'a')).toMatchObject({ breaker: 'closed', consecutiveFailures: 0 });
  });

  test('a 422 keeps its status', async () => {
    a.next({ kind: 'status', status: 422, body: JSON.stringify({ detail: [{ loc: ['body', 'messages'], msg: 'field required' }] }) });
    const response = await post({ model: 'solo', messages: user });
    expect(response.status).toBe(422);
    expect((await json(response)).error.message).toContain('field required');
  });
});

describe('upstream engines in the pool', () => {
  interface Listed {
    kind: string;
    name: string;
    endpoint: string;
    state: string;
    models: Array<{ model: string; upstreamModel: string; breaker: string }>;
    load: { activeRequests: number };
  }
  const workers = async (): Promise<Listed[]> => ((await (await fetch(`${server.url}/v1/pool/workers`)).json()) as { data: Listed[] }).data;

  test('each provider is listed as a static worker with its models, and its state follows its breakers', async () => {
    const before = await workers();
    expect(before.map((worker) => [worker.kind, worker.name, worker.state])).toEqual([
      ['static', 'a', 'ready'],
      ['static', 'b', 'ready'],
      ['static', 'dead', 'ready'],
    ]);
    expect(before[0]).toMatchObject({
      endpoint: `${a.url}/v1`,
      models: [
        { model: 'pair', upstreamModel: 'pair-upstream', breaker: 'closed' },
        { model: 'solo', upstreamModel: 'solo', breaker: 'closed' },
      ],
      load: { activeRequests: 0 },
    });
    // Two refused connections open the breaker of `dead`: the pool shows it unreachable, the others still ready.
    expect((await post({ model: 'gone', messages: user })).status).toBe(200);
    const after = await workers();
    expect(after.find((worker) => worker.name === 'dead')).toMatchObject({ state: 'unreachable', models: [{ model: 'gone', breaker: 'open' }] });
    expect(after.find((worker) => worker.name === 'a')?.state).toBe('ready');
  });

  test('a static worker cannot be drained, and says why', async () => {
    const response = await fetch(`${server.url}/v1/pool/workers/dead/drain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as Body).error).toMatchObject({ param: 'name', message: expect.stringContaining('upstream engine') });
  });
});
