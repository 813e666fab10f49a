/**
 * The worker agent hands an assignment's spare slots to the engine (decision 0017), against a
 * fake control plane: an assignment from a control plane that knows spares carries them; one from
 * an older control plane has no field, and the replica gets none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import type { ReplicaAssignment } from '../core/pool-control.js';
import { WorkerAgent, type ReplicaHost } from './worker-agent.js';

const servers: Server[] = [];
const agents: WorkerAgent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.stop();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A control plane that admits any worker and answers every heartbeat with `assignments`. */
async function fakeControlPlane(assignments: unknown[]): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const body =
        request.url === '/v1/pool/workers/join' ? { name: 'w1', credential: 'cred', inferenceSecret: 'secret', heartbeatIntervalMs: 60_000 } : { assignments };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const assignment = (deployment: string, extra: Partial<ReplicaAssignment> = {}): ReplicaAssignment => ({
  replica: `rep_${deployment}`,
  deployment,
  file: `/v1/pool/files/${deployment}`,
  fileName: 'stories.gguf',
  size: 1,
  sha256: 'x',
  contextSize: 256,
  slots: 2,
  device: 'cpu',
  ...extra,
});

test('an assignment’s spare slots reach addModel; one without the field (an older control plane) loads with none', async () => {
  // What a control plane from before spare slots sends: no field at all.
  const older: Partial<ReplicaAssignment> = assignment('old');
  delete older.spareSlots;
  const url = await fakeControlPlane([assignment('new', { spareSlots: 2 }), assignment('none', { spareSlots: 0 }), older]);
  const added: Parameters<ReplicaHost['addModel']>[0][] = [];
  const agent = new WorkerAgent({
    controlPlanes: [url],
    token: 'token',
    name: 'w1',
    endpoint: 'http://127.0.0.1:1',
    host: {
      addModel: async (options) => void added.push(options),
      removeModel: async () => true,
      models: () => [],
      load: () => ({ active: 0, queued: 0 }),
    },
    hardware: async () => ({ cpuModel: 'test', cores: 1, ramTotalBytes: 1, ramFreeBytes: 1, gpus: [] }),
    fetchModel: async (given) => `/models/${given.deployment}.gguf`,
  });
  agents.push(agent);
  await agent.start();
  const deadline = Date.now() + 5000;
  while (added.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(
    added
      .map(({ id, slots, spareSlots, contextSize, gpuLayers }) => ({ id, slots, spareSlots, contextSize, gpuLayers }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  ).toEqual([
    { id: 'new', slots: 2, spareSlots: 2, contextSize: 256, gpuLayers: 0 },
    { id: 'none', slots: 2, spareSlots: 0, contextSize: 256, gpuLayers: 0 },
    { id: 'old', slots: 2, spareSlots: 0, contextSize: 256, gpuLayers: 0 },
  ]);
  expect('spareSlots' in older).toBe(false);
});
