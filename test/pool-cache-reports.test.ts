/**
 * Workers' cache reports end to end (issue 24, item 2): a control plane in this process and a
 * `nimbus worker` process serving stories260K with its prompt cache. After a chat through the
 * control plane, the worker's heartbeat lists the prompt's prefix keys (hashes, never text) and
 * the deployment's estimated-ttft router holds them for that replica; a key the router guessed and
 * the worker does not hold goes at the next heartbeat, and a key the router forgot (as if another
 * control plane had sent the prompt) comes back. The worker also tells the replica's KV memory in
 * tokens (its slots' context and its prompt cache, once a saved state shows the bytes per token),
 * and the router bounds its index by it (decision 0026).
 */
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import type { PrefixIndex } from '../src/cluster/routing/prefix-index.js';
import { EstimatedTtftRouter } from '../src/cluster/routing/estimated-ttft-router.js';
import { routingKeys } from '../src/cluster/routing/routing-keys.js';
import { PoolEngine } from '../src/engines/pool/pool-engine.js';
import { poolAdmin, readyWorkers } from './support/pool-admin.js';
import { killWorkerProcesses, startWorkerProcess } from './support/pool-processes.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const skip = skipWithoutSharedModel();
let server: TestServer;
const { call: admin, waitForDeployment } = poolAdmin(() => server.url);
const reports = vi.spyOn(PoolEngine.prototype, 'cached');
const kvSizes = vi.spyOn(PoolEngine.prototype, 'kvSize');
const observe = vi.spyOn(EstimatedTtftRouter.prototype, 'observe');

beforeAll(async () => {
  if (skip) return;
  server = await startTestServer({ models: [], poolHeartbeatMs: 300, routing: { workerCacheReports: true } });
  const { token } = await admin<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  await startWorkerProcess('w-cache', server.url, token);
  await admin('POST', '/v1/deployments', {
    model: storiesPath,
    name: 'stories',
    replicas: 1,
    device: 'cpu',
    context_size: 256,
    slots: 2,
    routing: 'estimated-ttft',
  });
  await waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 1, 60_000);
}, 120_000);

afterAll(async () => {
  killWorkerProcesses();
  await server?.stop();
});

/** Resolves with the first report, after those already seen, that `done` accepts. */
async function nextReport(done: (keys: readonly string[]) => boolean, ms = 15_000): Promise<{ replica: string; keys: readonly string[]; complete: boolean }> {
  const seen = reports.mock.calls.length;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const [model, replica, keys, complete] of reports.mock.calls.slice(seen)) {
      if (model === 'stories' && done(keys)) return { replica, keys, complete };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no such report in ${ms} ms; last: ${JSON.stringify(reports.mock.calls.at(-1))}`);
}

test.skipIf(skip)(
  'the worker reports the prompt it holds, and the router’s index follows the reports',
  async () => {
    const request = { model: 'stories', messages: [{ role: 'user' as const, content: 'Once upon a time there was a cat who liked to' }], max_tokens: 8 };
    const answer = await server.client.chat.completions.create(request);
    expect(answer.choices[0]?.message.content).toBeTruthy();
    const [key] = routingKeys(request).prefixKeys!;

    const report = await nextReport((keys) => keys.includes(key!));
    expect(report.complete).toBe(true);
    // Hashes only: base-36 chained 32-bit hashes, no text.
    for (const listed of report.keys) expect(listed).toMatch(/^[0-9a-z]{1,7}$/);
    expect(report.replica).toMatch(/^w-cache\//);

    const router = observe.mock.contexts.find((context) => context instanceof EstimatedTtftRouter)!;
    expect(router).toBeDefined();
    const index = (router as unknown as { index: PrefixIndex }).index;
    expect(index.match([key!], [report.replica])).toEqual([1]);

    // A guess the worker does not bear out (the router sent it, the cache lost it) goes at the next report.
    index.insert(report.replica, ['ghost']);
    expect(index.match(['ghost'], [report.replica])).toEqual([1]);
    await nextReport(() => true);
    expect(index.match(['ghost'], [report.replica])).toEqual([0]);
    expect(index.match([key!], [report.replica])).toEqual([1]);

    // What this router never saw (another control plane sent it) comes with the report.
    index.forget(report.replica);
    expect(index.match([key!], [report.replica])).toEqual([0]);
    await nextReport((keys) => keys.includes(key!));
    expect(index.match([key!], [report.replica])).toEqual([1]);
  },
  60_000,
);

test.skipIf(skip)(
  'the worker tells the replica’s KV memory once its prompt cache has saved a state, and the router reads it',
  async () => {
    // Three distinct prompts of more than 32 tokens on 2 slots: the third overwrites a slot, whose state is saved first.
    for (const animal of ['cat', 'dog', 'bird']) {
      const content = `Once upon a time there was a ${animal} who lived in a small house by the river and liked to play in the garden with friends every day`;
      await server.client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content }], max_tokens: 4 });
    }
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !kvSizes.mock.calls.some(([model]) => model === 'stories')) await new Promise((resolve) => setTimeout(resolve, 50));
    const [, replica, kvTokens] = kvSizes.mock.calls.find(([model]) => model === 'stories')!;
    expect(replica).toMatch(/^w-cache\//);
    // Two slots of 256 tokens, plus the prompt cache's 512 MiB at stories260K's bytes per token.
    expect(kvTokens).toBeGreaterThan(2 * 256);
    expect(Number.isInteger(kvTokens)).toBe(true);

    // The next request's order reads it from the replica: the router's room is told, not learned.
    await server.client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 2 });
    const router = observe.mock.contexts.find((context) => context instanceof EstimatedTtftRouter)!;
    const state = (router as unknown as { replicas: Map<string, { room: { kvTokens?: number; told: boolean } }> }).replicas.get(replica)!;
    expect(state.room.told).toBe(true);
    expect(state.room.kvTokens).toBe(kvSizes.mock.calls.findLast(([model]) => model === 'stories')![2]);
  },
  60_000,
);
