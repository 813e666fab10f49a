/**
 * One control plane per SQLite database, and readiness as a load balancer needs it. A second
 * `nimbus serve` on a SQLite database in use is refused with what to do instead, also while the
 * first is frozen; the lock goes with the process, even a SIGKILLed one. `/readyz` is 200 when
 * the store and Redis answer and the server is not draining, whatever models it holds, and 503
 * naming Redis while Redis does not answer (a proxy in front of the real Redis is cut and restored).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ControlPlaneLockTaken, lockControlPlane } from '../src/store/sqlite/control-plane-lock.js';
import { killNimbusProcesses, startNimbusProcess } from './support/nimbus-process.js';
import { redisUrl, skipWithoutRedis } from './support/services.js';
import { startTestServer, type TestServer } from './support/test-server.js';

afterEach(killNimbusProcesses);

describe('SQLite holds one control plane', () => {
  test('a second lock on one database is refused in words, and free again once released', () => {
    const folder = mkdtempSync(join(tmpdir(), 'nimbus-lock-'));
    const database = join(folder, 'nimbus.db');
    try {
      const first = lockControlPlane(database);
      expect(() => lockControlPlane(database)).toThrow(ControlPlaneLockTaken);
      expect(() => lockControlPlane(database)).toThrow(/Another 'nimbus serve' is running on the SQLite database .*NIMBUS_DATABASE_URL=postgres/);
      // Another database beside it is another control plane's.
      lockControlPlane(join(folder, 'other.db')).release();
      first.release();
      lockControlPlane(database).release();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a second nimbus serve on the same home exits with the reason, frozen first or not; after a SIGKILL the home is free', async () => {
    const first = await startNimbusProcess([]);
    await expect(startNimbusProcess(['--home', first.home])).rejects.toThrow(/Another 'nimbus serve' is running on the SQLite database/);
    // A frozen first process still holds its lock: a hung machine must not let a second one lead.
    first.child.kill('SIGSTOP');
    await expect(startNimbusProcess(['--home', first.home])).rejects.toThrow(/Another 'nimbus serve' is running/);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    const second = await startNimbusProcess(['--home', first.home]);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    await second.stop();
  }, 60_000);
});

/** A TCP proxy to Redis that can be cut (every connection destroyed, new ones refused) and restored on the same port. */
async function redisProxy(): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  };
  const cut = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  };
  await listen();
  return { url: `redis://127.0.0.1:${port}`, cut, restore: listen, close: cut };
}

describe('readiness', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test('ready with no model at all: the store answers and the server is not draining', async () => {
    server = await startTestServer({ models: [] });
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { store: 'ok' }, models_ready: false });
  });

  test('503 naming Redis while Redis does not answer, ready again once it does', async (context) => {
    if (await skipWithoutRedis()) return context.skip();
    const proxy = await redisProxy();
    try {
      server = await startTestServer({ models: [], redisUrl: proxy.url });
      expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: 'ready', checks: { store: 'ok', redis: 'ok' } });
      await proxy.cut();
      const cut = await fetch(`${server.url}/readyz`);
      expect(cut.status).toBe(503);
      const body = (await cut.json()) as { status: string; reason: string; checks: Record<string, string> };
      expect(body.status).toBe('not_ready');
      expect(body.checks.store).toBe('ok');
      expect(body.checks.redis).not.toBe('ok');
      expect(body.reason).toMatch(/^redis: /);
      await proxy.restore();
      let status = 0;
      for (let attempt = 0; attempt < 100 && status !== 200; attempt += 1) {
        status = (await fetch(`${server.url}/readyz`)).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(200);
    } finally {
      await server?.stop();
      server = undefined;
      await proxy.close();
    }
  }, 30_000);

  test('503 shutting_down once draining', async () => {
    server = await startTestServer({ models: [] });
    server.nimbus.context.lifecycle.draining = true;
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'shutting_down' });
    server.nimbus.context.lifecycle.draining = false;
  });
});
