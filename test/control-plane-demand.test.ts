/**
 * Scale from zero through a follower, as real processes: two `nimbus serve` on one fresh
 * PostgreSQL database, one `nimbus worker` (stories260K, one thread) joined to the leader only.
 * A deployment of min 0 is called through the follower: the request is held there, the leader
 * counts it from the store and places a replica, and the follower answers the request once it reads
 * the ready replica from the store. Before issue 25's item, it got a 503 after its timeout. The
 * request is sent the moment the deployment is made through the leader: the follower reads it
 * from the store on the miss (it answered 404 until its next reconcile before). A deployment
 * made through the follower reaches the leader's feed as a `deployment` event (LISTEN/NOTIFY),
 * and the leader lists it at once.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openEventStream } from './support/event-stream.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { poolAdmin, readyWorkers } from './support/pool-admin.js';
import { killWorkerProcesses, startWorkerProcess } from './support/pool-processes.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const skip = skipWithoutSharedModel();
const heartbeatMs = 500;
let database: { url: string; drop(): Promise<void> } | undefined;
let leader: NimbusProcess;
let follower: NimbusProcess;
const onLeader = poolAdmin(() => leader.url);
const onFollower = poolAdmin(() => follower.url);

const start = (): Promise<NimbusProcess> =>
  startNimbusProcess([], { NIMBUS_DATABASE_URL: database!.url, NIMBUS_POOL_HEARTBEAT_MS: String(heartbeatMs), NIMBUS_LOG_LEVEL: 'info' });

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  if (skip || (await skipWithoutPostgres())) return;
  database = await createTestDatabase();
  leader = await start();
  await until('a leader', () => leader.output().includes('leads the pool'), 10_000);
  follower = await start();
  const { token } = await onLeader.call<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  await startWorkerProcess('w1', leader.url, token);
}, 120_000);

afterAll(async () => {
  killWorkerProcesses();
  killNimbusProcesses();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database?.drop();
});

test('a request through the follower at zero replicas is held, the leader places a replica, and the follower answers it', async (context) => {
  if (!database) return context.skip();
  await onLeader.call('POST', '/v1/deployments', {
    model: storiesPath,
    name: 'stories',
    device: 'cpu',
    context_size: 256,
    slots: 2,
    min_replicas: 0,
    max_replicas: 1,
    scale_down_delay_ms: 600_000,
    scale_from_zero_timeout_ms: 60_000,
  });
  // Asked for through the follower right away, before its next reconcile (a heartbeat): it reads the deployment from the store on the miss.
  const client = new OpenAI({ baseURL: `${follower.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  const started = Date.now();
  const answer = await client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 16 });
  const heldMs = Date.now() - started;
  expect(answer.choices[0]!.finish_reason).toMatch(/stop|length/);
  console.log(`scale from zero through a follower: answered after ${(heldMs / 1000).toFixed(2)} s (heartbeat ${heartbeatMs} ms)`);

  // The leader scaled, for the request the follower held; the follower never did.
  expect(leader.output()).toContain('stories scaled: 1 request held at zero replicas');
  expect(follower.output()).not.toContain('stories scaled');
  const view = await onFollower.waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 1, 10_000);
  expect(view.replicas).toBe(1);
}, 90_000);

test("a deployment made through the follower is on the leader's feed and listed there at once", async (context) => {
  if (!database) return context.skip();
  const feed = await openEventStream(leader.url);
  try {
    const made = performance.now();
    await onFollower.call('POST', '/v1/deployments', { model: storiesPath, name: 'second', device: 'cpu', context_size: 256, slots: 1, min_replicas: 0 });
    const event = await feed.next((candidate) => candidate.type === 'deployment' && candidate.data.deployment === 'second', 2000);
    expect(event.data).toMatchObject({ object: 'deployment.change', change: 'created' });
    const seenMs = Math.round(performance.now() - made);
    // The leader read the store on the event: listed within moments (2 s allows for a loaded machine; the figure is printed).
    const listed = async (): Promise<boolean> =>
      (await onLeader.call<{ data: Array<{ id: string }> }>('GET', '/v1/models')).data.some((model) => model.id === 'second');
    while (!(await listed())) {
      if (performance.now() - made > 2000) throw new Error('the leader did not list a deployment made through the follower within 2 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    console.log(`a deployment made through the follower: on the leader's feed after ${seenMs} ms, listed after ${Math.round(performance.now() - made)} ms`);
  } finally {
    feed.close();
  }
}, 30_000);
