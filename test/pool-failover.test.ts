/**
 * The pool end to end, as real processes on loopback: a control plane and three workers (own
 * ports and homes), the llama engine with stories260K at one thread. A deployment of 2 replicas
 * takes 50 concurrent requests through the official client while a worker holding a replica is
 * SIGKILLed: every request completes or ends with a clean API error (none hangs), and the lost
 * replica is placed again, on the third worker.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { poolAdmin, readyWorkers, type DeploymentState } from './support/pool-admin.js';
import { killWorkerProcesses, startWorkerProcess, type WorkerProcess } from './support/pool-processes.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
const heartbeatMs = 500;

let controlPlane: NimbusProcess;
const workers: WorkerProcess[] = [];
const { call: admin, waitForDeployment: waitFor } = poolAdmin(() => controlPlane.url);
const waitForDeployment = (done: (deployment: DeploymentState) => boolean): Promise<DeploymentState> => waitFor('stories', done);

beforeAll(async () => {
  if (skip) return;
  controlPlane = await startNimbusProcess(['--log-level', 'warn'], { NIMBUS_POOL_HEARTBEAT_MS: String(heartbeatMs) });
  const { token } = await admin<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  workers.push(...(await Promise.all(['w1', 'w2', 'w3'].map((name) => startWorkerProcess(name, controlPlane.url, token)))));
});

afterAll(async () => {
  killWorkerProcesses();
  killNimbusProcesses();
});

test.skipIf(skip)(
  'a worker killed under 50 concurrent requests: each completes or fails cleanly, and its replica is placed again',
  async () => {
    await admin('POST', '/v1/deployments', {
      model: storiesPath,
      name: 'stories',
      replicas: 2,
      device: 'cpu',
      context_size: 256,
      slots: 4,
      routing: 'round-robin',
    });
    const before = await waitForDeployment((deployment) => readyWorkers(deployment).length === 2);
    const holders = readyWorkers(before);
    const victim = workers.find((worker) => worker.name === holders[0])!;
    const spare = workers.find((worker) => !holders.includes(worker.name))!;
    const models = await admin<{ data: Array<{ id: string }> }>('GET', '/v1/models');
    expect(models.data.map((model) => model.id)).toContain('stories');

    const client = new OpenAI({ baseURL: `${controlPlane.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
    const outcomes: Array<'completed' | 'clean-error' | 'other-error'> = [];
    const errors: string[] = [];
    const one = async (index: number): Promise<void> => {
      const messages = [{ role: 'user' as const, content: `Once upon a time ${index}` }];
      try {
        if (index % 2 === 0) {
          const answer = await client.chat.completions.create({ model: 'stories', messages, max_tokens: 48 });
          expect(answer.choices[0]!.finish_reason).toMatch(/stop|length/);
        } else {
          const stream = await client.chat.completions.create({ model: 'stories', messages, max_tokens: 48, stream: true });
          let finish: string | null = null;
          for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
          expect(finish).toMatch(/stop|length/);
        }
        outcomes.push('completed');
      } catch (error) {
        // A clean error is the server's answer (an HTTP error or an SSE error event), never a timeout or a dropped connection.
        const clean = error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError);
        outcomes.push(clean ? 'clean-error' : 'other-error');
        errors.push(`${(error as Error).constructor.name}: ${(error as Error).message}`);
      }
    };
    const started = Date.now();
    const requests = Array.from({ length: 50 }, (_, index) => one(index));
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Killed while requests are in flight on it (queued in its slots or streaming), not after the burst.
    const settledBeforeKill = outcomes.length;
    victim.child.kill('SIGKILL');
    await Promise.all(requests);

    expect(settledBeforeKill).toBeLessThan(50);
    expect(outcomes).toHaveLength(50);
    expect(errors.filter((_, index) => outcomes[index] === 'other-error')).toEqual([]);
    expect(outcomes.filter((outcome) => outcome === 'other-error')).toEqual([]);
    // Requests not yet started on the dead worker went to the live replica: most complete.
    expect(outcomes.filter((outcome) => outcome === 'completed').length).toBeGreaterThanOrEqual(25);
    expect(Date.now() - started).toBeLessThan(30_000);

    const after = await waitForDeployment(
      (deployment) => readyWorkers(deployment).length === 2 && !deployment.placed.some((replica) => replica.worker === victim.name),
    );
    expect(readyWorkers(after).sort()).toEqual([holders[1]!, spare.name].sort());
    const answer = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 });
    expect(answer.model).toBe('stories');
    const listed = await admin<{ data: Array<{ name: string; state: string }> }>('GET', '/v1/pool/workers');
    expect(listed.data.find((worker) => worker.name === victim.name)?.state).toBe('unreachable');
  },
  90_000,
);
