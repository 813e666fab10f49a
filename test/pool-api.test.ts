/**
 * The pool over HTTP, in process: bad input gets a 4xx in OpenAI's error shape naming the field;
 * autoscale settings are checked, and a request at zero replicas is held, then answered 503
 * model_not_ready, or let go when its client leaves; worker calls need the worker's credential;
 * model files are served with Range; deployments show in /v1/models once ready; and a worker's
 * own server answers only its control plane's secret. A deployment's spare slots (default 1) reach
 * the worker's engine, whose context holds them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { startWorker, type RunningWorker } from '../src/main.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;
let modelPath: string;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  server = await startTestServer({ models: [], poolHeartbeatMs: 200 });
  modelPath = join(server.home, 'tiny.gguf');
  await writeTinyLlamaGguf(modelPath);
});

afterAll(async () => {
  await worker?.shutdown();
  await server.stop();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await server.nimbus.app.inject({
    method: method as 'GET',
    url: path,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: response.statusCode, headers: response.headers, body: response.rawPayload, json: () => response.json() };
}

test('bad deployments get a 400 in OpenAI’s shape that names the field', async () => {
  const typed = await call('POST', '/v1/deployments', { model: modelPath, replicas: 'two' });
  expect(typed.status).toBe(400);
  expect(typed.json().error).toMatchObject({ type: 'invalid_request_error', param: 'replicas' });
  const routing = await call('POST', '/v1/deployments', { model: modelPath, routing: 'fastest' });
  expect(routing.status).toBe(400);
  expect(routing.json().error).toMatchObject({ param: 'routing' });
  expect(routing.json().error.message).toContain('round-robin');
  const missing = await call('POST', '/v1/deployments', { model: join(server.home, 'nope.gguf') });
  expect(missing.status).toBe(400);
  expect(missing.json().error).toMatchObject({ param: 'model' });
  for (const spare of [-1, 1.5, 'one', 257, null]) {
    const bad = await call('POST', '/v1/deployments', { model: modelPath, name: 'spare', spare_slots: spare });
    expect(bad.status, JSON.stringify(spare)).toBe(400);
    expect(bad.json().error, JSON.stringify(spare)).toMatchObject({ type: 'invalid_request_error', param: 'spare_slots' });
  }
  // The camel-case name of the view is not the request's: refused as unknown, like any other.
  expect((await call('POST', '/v1/deployments', { model: modelPath, name: 'spare', spareSlots: 1 })).status).toBe(400);
  expect((await call('GET', '/v1/deployments/spare')).status).toBe(404);
  expect((await call('PATCH', '/v1/deployments/nope', { replicas: 1 })).status).toBe(404);
  expect((await call('DELETE', '/v1/deployments/nope')).status).toBe(404);
});

test('autoscale settings are checked; a request at zero replicas is held, then a 503 model_not_ready; a client that leaves is let go', async () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ min_replicas: 3, max_replicas: 2 }, 'min_replicas'],
    [{ max_replicas: 0 }, 'max_replicas'],
    [{ target_queue_per_replica: 0 }, 'target_queue_per_replica'],
    [{ scale_down_delay_ms: -1 }, 'scale_down_delay_ms'],
    [{ scale_from_zero_timeout_ms: 'soon' }, 'scale_from_zero_timeout_ms'],
    [{ autoscale: false, min_replicas: 0 }, 'autoscale'],
    [{ replicas: 5, max_replicas: 2 }, 'replicas'],
    [{ replicas: 0 }, 'replicas'],
  ];
  for (const [fields, param] of bad) {
    const answer = await call('POST', '/v1/deployments', { model: modelPath, name: 'held', ...fields });
    expect(answer.status, JSON.stringify(fields)).toBe(400);
    expect(answer.json().error, JSON.stringify(fields)).toMatchObject({ type: 'invalid_request_error', param });
  }
  const deployed = await call('POST', '/v1/deployments', {
    model: modelPath,
    name: 'held',
    device: 'cpu',
    context_size: 128,
    slots: 1,
    min_replicas: 0,
    max_replicas: 2,
    scale_from_zero_timeout_ms: 300,
  });
  expect(deployed.status).toBe(201);
  expect(deployed.json()).toMatchObject({
    replicas: 0,
    placed: [],
    autoscale: { minReplicas: 0, maxReplicas: 2, targetQueuePerReplica: 2, scaleDownDelayMs: 60_000, scaleFromZeroTimeoutMs: 300 },
  });
  // At zero replicas it is still a model clients may call.
  const models = (await call('GET', '/v1/models')).json() as { data: Array<{ id: string }> };
  expect(models.data.map((model) => model.id)).toContain('held');

  // No worker to place a replica on: the request waits out the timeout, then gets OpenAI's error shape.
  const body = JSON.stringify({ model: 'held', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  const started = Date.now();
  const refused = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(refused.status).toBe(503);
  expect(await refused.json()).toMatchObject({
    error: { type: 'service_unavailable', code: 'model_not_ready', message: expect.stringContaining("No replica of 'held' became ready within 0.3 s") },
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  expect((await call('GET', '/v1/deployments/nope')).status).toBe(404);
  expect((await call('GET', '/v1/deployments/held')).json()).toMatchObject({
    replicas: 1,
    lastScale: { from: 0, to: 1, reason: '1 request held at zero replicas' },
    refusal: expect.stringContaining('the pool has no workers'),
  });

  expect((await call('PATCH', '/v1/deployments/held', {})).json().error).toMatchObject({ param: 'replicas' });
  expect((await call('PATCH', '/v1/deployments/held', { replicas: 3 })).json().error).toMatchObject({ param: 'replicas' });
  expect((await call('PATCH', '/v1/deployments/held', { scale_from_zero_timeout_ms: 60_000 })).json()).toMatchObject({
    autoscale: { minReplicas: 0, maxReplicas: 2, scaleFromZeroTimeoutMs: 60_000 },
  });
  const heldNow = async (): Promise<number> =>
    ((await call('GET', '/v1/deployments')).json() as { data: Array<{ name: string; held?: number }> }).data.find((deployment) => deployment.name === 'held')
      ?.held ?? 0;
  const client = new AbortController();
  const leaving = fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: client.signal });
  leaving.catch(() => undefined);
  for (let attempt = 0; attempt < 50 && (await heldNow()) === 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await heldNow()).toBe(1);
  client.abort();
  for (let attempt = 0; attempt < 50 && (await heldNow()) > 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(await heldNow()).toBe(0);
  // Abandoned before its first token: cancelled in the ledger (499, as nginx logs it), not a server error.
  await server.nimbus.store.flush();
  const [left] = (await server.nimbus.store.listRequests({ limit: 1 })).filter((row) => row.model === 'held');
  expect(left).toMatchObject({ status: 'cancelled', httpStatus: 499, errorCode: null });

  expect((await call('PATCH', '/v1/deployments/held', { autoscale: false })).json()).toMatchObject({ replicas: 1, autoscale: null });
  expect((await call('DELETE', '/v1/deployments/held')).status).toBe(200);
});

test('worker calls need a join token or the worker’s credential', async () => {
  const heartbeat = await call('POST', '/v1/pool/workers/heartbeat', { load: {}, hardware: {}, replicas: [] });
  expect(heartbeat.status).toBe(401);
  expect(heartbeat.json().error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
  const hardware = { cpuModel: 'x', cores: 1, ramTotalBytes: 1, ramFreeBytes: 1, gpus: [] };
  const join_ = await call('POST', '/v1/pool/workers/join', { token: 'nmj_wrong', name: 'w1', endpoint: 'http://127.0.0.1:1', hardware });
  expect(join_.status).toBe(401);
  expect(join_.json().error.message).toContain('nimbus workers token');
  expect((await call('GET', '/v1/pool/files/tiny', undefined, { authorization: 'Bearer nmw_forged' })).status).toBe(401);
});

test('a joined worker downloads its model with Range; the deployment is listed; its own server wants the secret', async () => {
  const loads = vi.spyOn(LlamaEngine.prototype, 'addModel');
  const created = await call('POST', '/v1/pool/join-tokens', {});
  expect(created.status).toBe(201);
  const { token } = created.json() as { token: string };
  worker = await startWorker({
    controlPlane: server.url,
    token,
    name: 'w1',
    host: '127.0.0.1',
    port: 0,
    home: join(server.home, 'worker'),
    gpu: 'cpu',
    threads: 1,
    maxQueue: 8,
    promptCacheMiB: 16,
    logLevel: 'silent',
  });
  const deployed = await call('POST', '/v1/deployments', { model: modelPath, name: 'tiny', replicas: 1, device: 'cpu', context_size: 128, slots: 1 });
  expect(deployed.status).toBe(201);
  expect(deployed.json()).toMatchObject({ name: 'tiny', replicas: 1, slots: 1, spareSlots: 1, placed: [expect.objectContaining({ worker: 'w1' })] });

  // The worker's credential is its own; take it from its agent the way the agent sends it.
  const credential = (worker.agent as unknown as { credentials: { credential: string } }).credentials.credential;
  const whole = readFileSync(modelPath);
  const auth = { authorization: `Bearer ${credential}` };
  const full = await call('GET', '/v1/pool/files/tiny', undefined, auth);
  expect(full.status).toBe(200);
  expect(full.body.equals(whole)).toBe(true);
  const tail = await call('GET', '/v1/pool/files/tiny', undefined, { ...auth, range: 'bytes=100-' });
  expect(tail.status).toBe(206);
  expect(tail.headers['content-range']).toBe(`bytes 100-${whole.length - 1}/${whole.length}`);
  expect(tail.body.equals(whole.subarray(100))).toBe(true);
  expect((await call('GET', '/v1/pool/files/tiny', undefined, { ...auth, range: `bytes=${whole.length}-` })).status).toBe(416);
  expect((await call('GET', '/v1/pool/files/other', undefined, auth)).status).toBe(404);

  const refused = await fetch(`${worker.url}/v1/models`);
  expect(refused.status).toBe(401);
  const allowed = await fetch(`${worker.url}/v1/models`, { headers: { authorization: `Bearer ${worker.agent.inferenceSecret}` } });
  expect(allowed.status).toBe(200);
  // The worker fetched the file from the control plane (checked) and loads it under the deployment's name.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const view = (await call('GET', '/v1/deployments')).json() as { data: Array<{ placed: Array<{ state: string }> }> };
    if (view.data[0]?.placed[0]?.state === 'ready') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const listed = (await (await fetch(`${worker.url}/v1/models`, { headers: { authorization: `Bearer ${worker.agent.inferenceSecret}` } })).json()) as {
    data: Array<{ id: string }>;
  };
  expect(listed.data.map((model) => model.id)).toEqual(['tiny']);
  // The deployment's default spare slot went with the assignment to the worker's engine, and the loaded context holds it.
  expect(loads.mock.calls.map(([options]) => [options.id, options.slots, options.spareSlots])).toEqual([['tiny', 1, 1]]);
  expect((loads.mock.contexts[0] as LlamaEngine).loadedModel('tiny')!.spareSlotBytes).toBeGreaterThan(0);
  loads.mockRestore();
  // /v1/models lists ready models: the deployment, once a replica serves.
  const models = (await call('GET', '/v1/models')).json() as { data: Array<{ id: string; nimbus: { engine: string } }> };
  expect(models.data).toContainEqual(expect.objectContaining({ id: 'tiny', nimbus: expect.objectContaining({ engine: 'pool' }) }));
  const workers = (await call('GET', '/v1/pool/workers')).json() as { data: Array<Record<string, unknown>> };
  expect(workers.data[0]).toMatchObject({ name: 'w1', state: 'ready', replicas: [expect.stringMatching(/^rep_/)] });
  expect(workers.data[0]).not.toHaveProperty('credentialHash');
  expect(workers.data[0]).not.toHaveProperty('inferenceSecret');

  // The ledger row of a request the pool served names the deployment and the worker, with the
  // device class and the compute-seconds the worker reported (whole answers and streams alike).
  for (const stream of [false, true]) {
    const answered = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'hello', max_tokens: 4, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
    });
    expect(answered.status).toBe(200);
    await answered.text();
  }
  await server.nimbus.store.flush();
  const rows = (await server.nimbus.store.listRequests({ limit: 2 })).filter((row) => row.model === 'tiny');
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    expect(row).toMatchObject({ deployment: 'tiny', worker: 'w1', deviceClass: 'cpu', status: 'ok' });
    expect(row.computeSeconds).toBeGreaterThan(0);
  }

  // A control plane that forgot the worker (its database restored, say) answers 401; the agent joins again with its token.
  await server.nimbus.store.pool.deleteWorker('w1');
  const rejoined = async (): Promise<boolean> => ((await call('GET', '/v1/pool/workers')).json() as { data: Array<{ name: string }> }).data.length === 1;
  for (let attempt = 0; attempt < 50 && !(await rejoined()); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await rejoined()).toBe(true);
});
