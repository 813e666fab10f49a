/**
 * A worker given several control plane addresses (`--join A,B`) joins and beats through whichever
 * answers: the first address here is a closed port (a control plane that died), the second a real
 * control plane in this process. It joins through the second and keeps beating there.
 */
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startWorker, type RunningWorker } from '../src/main.js';
import { controlPlaneAddresses } from '../src/start-worker.js';
import { startTestServer, type TestServer } from './support/test-server.js';

let server: TestServer | undefined;
let worker: RunningWorker | undefined;
afterAll(async () => {
  await worker?.shutdown();
  await server?.stop();
});

test('--join takes a comma-separated list; trailing slashes and spaces go', () => {
  expect(controlPlaneAddresses('http://a:8080/, http://b:8080')).toEqual(['http://a:8080', 'http://b:8080']);
});

test('a worker whose first control plane does not answer joins and beats through the next', async () => {
  server = await startTestServer({ models: [], poolHeartbeatMs: 300 });
  const created = await fetch(`${server.url}/v1/pool/join-tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const { token } = (await created.json()) as { token: string };
  worker = await startWorker({
    controlPlane: `http://127.0.0.1:9,${server.url}`,
    token,
    name: 'w-two-addresses',
    host: '127.0.0.1',
    port: 0,
    home: join(server.home, 'worker'),
    gpu: 'cpu',
    threads: 1,
    maxQueue: 8,
    promptCacheMiB: 0,
    logLevel: 'silent',
  });
  expect(worker.agent.controlPlane).toBe(server.url);
  const beats = async (): Promise<number> => {
    const listed = (await (await fetch(`${server!.url}/v1/pool/workers`)).json()) as { data: Array<{ name: string; lastHeartbeatAt: number; state: string }> };
    const found = listed.data.find((entry) => entry.name === 'w-two-addresses');
    expect(found?.state).toBe('ready');
    return found!.lastHeartbeatAt;
  };
  const first = await beats();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await beats()).toBeGreaterThan(first);
}, 60_000);
