/**
 * Autoscaling end to end, as real processes on loopback: a control plane and two workers, the
 * llama engine with stories260K at one thread. A deployment of min 0, max 2 starts with no
 * replica; its first request is held while one loads and then answered; a burst of concurrent
 * requests brings a second replica; idle, it goes back to zero. A deployment no worker can take
 * answers its held request 503 model_not_ready after its timeout. The figures are printed.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { poolAdmin, readyWorkers } from './support/pool-admin.js';
import { killWorkerProcesses, startWorkerProcess } from './support/pool-processes.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
const heartbeatMs = 500;
const scaleDownDelayMs = 3000;

let controlPlane: NimbusProcess;
const { call: admin, waitForDeployment } = poolAdmin(() => controlPlane.url);
const figures: Record<string, string> = {};

beforeAll(async () => {
  if (skip) return;
  controlPlane = await startNimbusProcess(['--log-level', 'warn'], { NIMBUS_POOL_HEARTBEAT_MS: String(heartbeatMs) });
  const { token } = await admin<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  await Promise.all(['w1', 'w2'].map((name) => startWorkerProcess(name, controlPlane.url, token)));
});

afterAll(() => {
  killWorkerProcesses();
  killNimbusProcesses();
  if (Object.keys(figures).length > 0) console.log(`autoscale figures (heartbeat ${heartbeatMs} ms, scale-down delay ${scaleDownDelayMs} ms):`, figures);
});

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

test.skipIf(skip)(
  'min 0 max 2: the first request is held and answered, a burst brings a second replica, idle goes back to zero',
  async () => {
    const deployed = await admin<{ replicas: number; placed: unknown[] }>('POST', '/v1/deployments', {
      model: storiesPath,
      name: 'stories',
      device: 'cpu',
      context_size: 256,
      slots: 2,
      routing: 'least-outstanding-tokens',
      min_replicas: 0,
      max_replicas: 2,
      target_queue_per_replica: 2,
      scale_down_delay_ms: scaleDownDelayMs,
      scale_from_zero_timeout_ms: 60_000,
    });
    expect(deployed).toMatchObject({ replicas: 0, placed: [] });
    const client = new OpenAI({ baseURL: `${controlPlane.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    const messages = [{ role: 'user' as const, content: 'Once upon a time' }];

    // The first request waits while a replica is placed, downloaded and loaded: no 503.
    const firstStarted = Date.now();
    const first = await client.chat.completions.create({ model: 'stories', messages, max_tokens: 16 });
    const heldMs = Date.now() - firstStarted;
    expect(first.choices[0]!.finish_reason).toMatch(/stop|length/);
    const one = await waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 1);
    expect(one.lastScale).toMatchObject({ from: 0, to: 1, reason: '1 request held at zero replicas' });
    figures.heldFirstRequest = seconds(heldMs);

    // A burst: eight streams at a time on two slots, kept up until the second replica serves.
    const burstStarted = Date.now();
    let burstOver = false;
    let completed = 0;
    const failures: string[] = [];
    const stream = async (): Promise<void> => {
      while (!burstOver) {
        try {
          const answer = await client.chat.completions.create({ model: 'stories', messages, max_tokens: 200, stream: true });
          for await (const chunk of answer) void chunk;
          completed += 1;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const streams = Array.from({ length: 8 }, () => stream());
    const two = await waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 2, 45_000).finally(() => {
      burstOver = true;
    });
    const secondReadyMs = Date.now() - burstStarted;
    await Promise.all(streams);
    expect(failures).toEqual([]);
    expect(completed).toBeGreaterThan(0);
    expect(two.replicas).toBe(2);
    expect(two.lastScale).toMatchObject({ from: 1, to: 2, reason: expect.stringContaining('passes the target of 2 per replica') });
    figures.secondReplicaReadyAfterBurst = seconds(secondReadyMs);
    figures.burstRequestsCompleted = String(completed);

    // Idle: one replica goes after the delay, the other a delay later.
    const idleStarted = Date.now();
    const zero = await waitForDeployment('stories', (deployment) => deployment.replicas === 0 && deployment.placed.length === 0, 45_000);
    const idleMs = Date.now() - idleStarted;
    expect(zero.lastScale).toMatchObject({ from: 1, to: 0, reason: expect.stringContaining('scaled to zero') });
    // Two steps of the delay; the first may have begun while the last burst requests finished.
    expect(idleMs).toBeGreaterThanOrEqual(scaleDownDelayMs);
    figures.idleToZero = seconds(idleMs);
    // At zero it is still a model clients may call.
    const models = await admin<{ data: Array<{ id: string }> }>('GET', '/v1/models');
    expect(models.data.map((model) => model.id)).toContain('stories');
  },
  150_000,
);

test.skipIf(skip)(
  'a held request no worker can serve gets 503 model_not_ready after scale_from_zero_timeout_ms',
  async () => {
    // The workers have no GPU: a gpu-only replica is refused everywhere, so none ever becomes ready.
    await admin('POST', '/v1/deployments', {
      model: storiesPath,
      name: 'nowhere',
      device: 'gpu',
      context_size: 256,
      slots: 1,
      min_replicas: 0,
      max_replicas: 1,
      scale_from_zero_timeout_ms: 1500,
    });
    const started = Date.now();
    const response = await fetch(`${controlPlane.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'nowhere', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    });
    const waitedMs = Date.now() - started;
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { type: 'service_unavailable', code: 'model_not_ready' } });
    expect(waitedMs).toBeGreaterThanOrEqual(1500);
    expect(waitedMs).toBeLessThan(5000);
    figures.timeoutAnsweredAfter = seconds(waitedMs);
    const view = await waitForDeployment('nowhere', () => true);
    expect(view.refusal).toMatch(/placed 0 of 1 replicas/);
  },
  30_000,
);

test.skipIf(skip)(
  'a held request is answered 503 at once when the control plane shuts down, not after the drain deadline',
  async () => {
    await admin('POST', '/v1/deployments', {
      model: storiesPath,
      name: 'waiting',
      device: 'gpu',
      context_size: 256,
      slots: 1,
      min_replicas: 0,
      max_replicas: 1,
      scale_from_zero_timeout_ms: 60_000,
    });
    const answer = fetch(`${controlPlane.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'waiting', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    });
    await waitForDeployment('waiting', (deployment) => deployment.held === 1, 10_000);
    const started = Date.now();
    const stopped = controlPlane.stop();
    const response = await answer;
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'shutting_down' } });
    await stopped;
    // The drain deadline is 30 s; a held request must not wait for it.
    expect(Date.now() - started).toBeLessThan(5000);
    figures.heldRequestAnsweredAtShutdownAfter = seconds(Date.now() - started);
  },
  30_000,
);
