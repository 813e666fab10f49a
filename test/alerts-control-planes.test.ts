/**
 * Alerts with two control planes on one PostgreSQL database (decision 0022): a `nimbus worker`
 * joined with both addresses is SIGKILLed; the alert is computed once, by the leader: one row,
 * fired once, logged by the leader only, and the follower's live feed gets it through the relay.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openEventStream } from './support/event-stream.js';
import { callJson } from './support/json-api.js';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { killWorkerProcesses, startWorkerProcess, type WorkerProcess } from './support/pool-processes.js';
import { createTestDatabase, skipWithoutPostgres } from './support/services.js';

const heartbeatMs = 500;
let database: { url: string; drop(): Promise<void> } | undefined;
let leader: NimbusProcess;
let follower: NimbusProcess;
let worker: WorkerProcess;

const start = (): Promise<NimbusProcess> =>
  startNimbusProcess([], { NIMBUS_DATABASE_URL: database!.url, NIMBUS_POOL_HEARTBEAT_MS: String(heartbeatMs), NIMBUS_LOG_LEVEL: 'info' });

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  if (await skipWithoutPostgres()) return;
  database = await createTestDatabase();
  leader = await start();
  await until('a leader', () => (leader.output().includes('leads the pool') ? true : undefined), 10_000);
  follower = await start();
  const { token } = (await callJson(leader.url, 'POST', '/v1/pool/join-tokens', {})).body as { token: string };
  worker = await startWorkerProcess('w1', `${leader.url},${follower.url}`, token);
}, 120_000);

afterAll(async () => {
  killWorkerProcesses();
  killNimbusProcesses();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database?.drop();
});

test('a worker lost is one alert, computed by the leader only, and on the follower’s feed too', async (context) => {
  if (!database) return context.skip();
  const followerFeed = await openEventStream(follower.url);
  try {
    worker.child.kill('SIGKILL');
    const event = await followerFeed.next((received) => received.type === 'alert' && received.data.id === 'worker_lost:w1', 20_000);
    expect(event.data).toMatchObject({ state: 'firing', change: 'fired', tenant: null });
    // Ten more heartbeats: still one row, read through either control plane (one database).
    await new Promise((resolve) => setTimeout(resolve, 10 * heartbeatMs));
    for (const plane of [leader, follower]) {
      const rows = ((await callJson(plane.url, 'GET', '/v1/alerts')).body.data as Array<{ id: string; fired: number }>).filter(
        (row) => row.id === 'worker_lost:w1',
      );
      expect(rows).toEqual([expect.objectContaining({ fired: 1 })]);
    }
    expect(leader.output().split('alert fired: Worker w1 is lost').length - 1).toBe(1);
    expect(follower.output()).not.toContain('alert fired');
    expect(followerFeed.events.filter((received) => received.type === 'alert' && received.data.id === 'worker_lost:w1')).toHaveLength(1);
  } finally {
    followerFeed.close();
  }
}, 60_000);
