/**
 * Workers over time over HTTP, in process: a worker that joined reports CPU, RAM, GPU memory and
 * utilisation and tokens per second with each heartbeat, and `GET /v1/pool/workers/{name}/metrics`
 * gives them back per 10 s bucket (the operator only).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ models: [], poolHeartbeatMs: 200 });
});
afterAll(async () => server.stop());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await server.nimbus.app.inject({
    method: method as 'GET',
    url: path,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: response.statusCode, json: () => response.json() };
}

test('each heartbeat is a sample of the worker: CPU, RAM, GPU memory and utilisation, tokens per second', async () => {
  const { token } = (await call('POST', '/v1/pool/join-tokens', {})).json() as { token: string };
  const hardware = (busy: number, gpuFree: number) => ({
    cpuModel: 'x',
    cores: 8,
    ramTotalBytes: 1000,
    ramFreeBytes: 400,
    cpuUtilization: busy,
    gpus: [{ index: 0, name: 'NVIDIA H100', totalBytes: 800, freeBytes: gpuFree, backend: 'cuda', driver: '550', utilizationPercent: 75 }],
  });
  const joined = await call('POST', '/v1/pool/workers/join', { token, name: 'gpu-1', endpoint: 'http://127.0.0.1:1', hardware: hardware(0, 800) });
  expect(joined.status, JSON.stringify(joined.json())).toBe(200);
  const auth = { authorization: `Bearer ${(joined.json() as { credential: string }).credential}` };
  const load = { activeSequences: 1, queueDepth: 0, tokensPerSecond: 42.5, memoryInUseBytes: 0 };
  const beat = await call('POST', '/v1/pool/workers/heartbeat', { load, hardware: hardware(0.5, 300), replicas: [] }, auth);
  expect(beat.status).toBe(200);
  const metrics = await call('GET', '/v1/pool/workers/gpu-1/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.json()).toMatchObject({ worker: 'gpu-1', sample_seconds: 10, keep_seconds: 86_400 });
  expect(metrics.json().data.at(-1)).toEqual({
    at: expect.any(Number),
    cpu_utilization: 0.5,
    ram_used_bytes: 600,
    ram_total_bytes: 1000,
    tokens_per_second: 42.5,
    gpus: [{ index: 0, used_bytes: 500, total_bytes: 800, utilization_percent: 75 }],
  });
  expect((await call('GET', `/v1/pool/workers/gpu-1/metrics?since=${Math.ceil(Date.now() / 1000) + 60}`)).json().data).toEqual([]);
  expect((await call('GET', '/v1/pool/workers/never-joined/metrics')).json().data).toEqual([]);
});
