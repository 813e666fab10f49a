/**
 * The control plane's pool runtime over a real SQLite store, a tiny GGUF and a hand-moved clock:
 * joining, heartbeats and assignments, placement spread, a silent worker's replica placed again,
 * drain, scale, remove, explain, refusals in words, deployments surviving a restart, autoscaling
 * (up under queue, down after the delay, to and from zero with held requests, their timeout) and
 * the backoff of replicas that fail to load.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import type { Engine } from '../src/core/engine.js';
import { NimbusError } from '../src/core/errors.js';
import type { DeployRequest, JoinAnswer } from '../src/core/pool-control.js';
import type { Store } from '../src/core/store.js';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { openSqliteStore } from '../src/store/sqlite/open-sqlite-store.js';
import { JoinedWorkerPool } from '../src/pool/joined/joined-worker-pool.js';
import { PoolRuntime } from '../src/pool/pool-runtime.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-pool-runtime-'));
const modelPath = join(folder, 'tiny.gguf');
const gib = 1024 ** 3;
const interval = 1000;

interface Served {
  id: string;
  engine: Engine;
  healthy?: () => boolean;
}

/** Records what the runtime tells the pool engine; `demand` plays the requests in flight per deployment. */
class FakeServing {
  readonly replicas = new Map<string, Served[]>();
  readonly routers = new Map<string, string>();
  readonly demand = new Map<string, number>();
  /** Requests in flight per served replica id (`worker/replica`). */
  readonly busy = new Map<string, number>();
  inFlight(model: string, replica?: string): number {
    return replica === undefined ? (this.demand.get(model) ?? 0) : (this.busy.get(replica) ?? 0);
  }
  deploy(model: string, router: { constructor: { name: string } }): void {
    this.routers.set(model, router.constructor.name);
  }
  setReplicas(model: string, replicas: readonly Served[]): void {
    this.replicas.set(model, [...replicas]);
  }
  undeploy(model: string): void {
    this.replicas.delete(model);
    this.routers.delete(model);
  }
  /** Workers of the replicas the router may pick now. */
  healthyWorkers(model: string): string[] {
    return (this.replicas.get(model) ?? [])
      .filter((replica) => replica.healthy?.() ?? true)
      .map((replica) => replica.id.split('/')[0]!)
      .sort();
  }
}

const closed: string[] = [];
const stubEngine = (name: string): Engine =>
  ({
    kind: 'stub',
    models: () => [],
    close: async () => void closed.push(name),
  }) as unknown as Engine;

let time = 1_000_000;
const clock: Clock = { now: () => time, monotonic: () => time };
let store: Store;
let serving: FakeServing;
let runtime: PoolRuntime;
let storeCount = 0;

function hardware(ramGib = 8) {
  return { cpuModel: 'Test CPU', cores: 4, ramTotalBytes: ramGib * gib, ramFreeBytes: ramGib * gib, gpus: [] };
}

/** What the runtime reported about hosts lost and back, as main.ts logs it. */
const hostLog: string[] = [];

/** A pool runtime over the joined workers of `store`, as main.ts wires it. */
function poolRuntime(on: FakeServing, resolveModel: (source: string) => Promise<string>, autoscaleIntervalMs?: number): PoolRuntime {
  const joined = new JoinedWorkerPool({ store: store.pool, resolveModel, clock, heartbeat: { intervalMs: interval, missedBeats: 3 } });
  return new PoolRuntime({
    onHost: (host, state, detail) => hostLog.push(`${host} ${state}: ${detail}`),
    store: store.pool,
    serving: on,
    provisioner: joined,
    workers: joined.members,
    replicaEngine: (replica) => stubEngine(`${replica.host}/${replica.id}`),
    clock,
    reconcileIntervalMs: interval,
    ...(autoscaleIntervalMs ? { autoscaleIntervalMs } : {}),
  });
}

function newRuntime(): PoolRuntime {
  return poolRuntime(
    serving,
    async (source) => {
      if (source !== modelPath) throw new Error(`no such file: ${source}`);
      return source;
    },
    // Autoscale ticks only when a test calls runtime.autoscale() (or a request is held).
    3_600_000,
  );
}

const deployRequest = (overrides: Partial<DeployRequest> = {}): DeployRequest => ({
  name: 'tiny',
  source: modelPath,
  replicas: 2,
  device: 'cpu',
  contextSize: 256,
  slots: 2,
  routing: 'round-robin',
  ...overrides,
});

/** Joins a worker and returns its credentials. */
async function join_(name: string, token: string, ramGib = 8): Promise<JoinAnswer> {
  return runtime.join({ token, name, endpoint: `http://127.0.0.1:9${name.slice(1)}00`, hardware: hardware(ramGib) });
}

/** One heartbeat of `name` reporting every assigned replica as `state`; returns the assigned replica ids. */
async function beat(name: string, credential: string, state: 'ready' | 'loading' | 'failed' = 'ready'): Promise<string[]> {
  const worker = (await runtime.authenticateWorker(credential))!;
  const first = await runtime.heartbeat(worker, {
    load: { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 },
    hardware: hardware(),
    replicas: [],
  });
  const reports = first.assignments.map((assignment) => ({ id: assignment.replica, state, ...(state === 'failed' ? { error: 'out of memory' } : {}) }));
  const second = await runtime.heartbeat(worker, {
    load: { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 },
    hardware: hardware(),
    replicas: reports,
  });
  await runtime.reconcile();
  return second.assignments.map((assignment) => assignment.replica);
}

async function placedWorkers(): Promise<string[]> {
  const [view] = await runtime.deployments();
  return (view?.placed ?? []).map((replica) => replica.worker).sort();
}

beforeAll(async () => {
  await writeTinyLlamaGguf(modelPath);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

beforeEach(async () => {
  hostLog.length = 0;
  store = await openSqliteStore(join(folder, `pool-${storeCount++}.db`));
  serving = new FakeServing();
  runtime = newRuntime();
  await runtime.start();
  return async () => {
    await runtime.stop();
    await store.close();
  };
});

describe('joining', () => {
  test('a worker joins with a valid token only, and its credential (stored hashed) authenticates it', async () => {
    const { token } = await runtime.createJoinToken();
    await expect(runtime.join({ token: 'nmj_wrong', name: 'w1', endpoint: 'http://127.0.0.1:1', hardware: hardware() })).rejects.toMatchObject({
      code: 'invalid_api_key',
      status: 401,
    });
    const answer = await join_('w1', token);
    expect(answer).toMatchObject({ name: 'w1', heartbeatIntervalMs: interval });
    expect((await runtime.authenticateWorker(answer.credential))?.name).toBe('w1');
    expect(await runtime.authenticateWorker('nmw_forged')).toBeUndefined();
    const stored = await store.pool.getWorker('w1');
    expect(stored?.credentialHash).not.toContain(answer.credential);
    expect(stored?.credentialHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('an expired token is refused', async () => {
    const { token } = await runtime.createJoinToken(500);
    time += 501;
    await expect(join_('w1', token)).rejects.toBeInstanceOf(NimbusError);
  });
});

describe('placement and failure', () => {
  let credentials: Record<string, string>;
  beforeEach(async () => {
    const { token } = await runtime.createJoinToken();
    credentials = {};
    for (const name of ['w1', 'w2', 'w3']) credentials[name] = (await join_(name, token)).credential;
  });

  test('two replicas go to two workers; heartbeats hand them out with the file digest; ready ones are served', async () => {
    const view = await runtime.deploy(deployRequest());
    expect(view.placed).toHaveLength(2);
    const holders = await placedWorkers();
    expect(new Set(holders).size).toBe(2);
    const worker = (await runtime.authenticateWorker(credentials[holders[0]!]!))!;
    const answer = await runtime.heartbeat(worker, {
      load: { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 },
      hardware: hardware(),
      replicas: [],
    });
    expect(answer.assignments).toEqual([
      expect.objectContaining({
        deployment: 'tiny',
        file: '/v1/pool/files/tiny',
        fileName: 'tiny.gguf',
        size: statSync(modelPath).size,
        contextSize: 256,
        slots: 2,
      }),
    ]);
    expect(answer.assignments[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(serving.routers.get('tiny')).toBe('RoundRobinRouter');
    expect(serving.healthyWorkers('tiny')).toEqual([]);
    for (const name of holders) await beat(name, credentials[name]!);
    expect(serving.healthyWorkers('tiny')).toEqual(holders);
    expect((await runtime.modelFile(worker, 'tiny')).path).toBe(modelPath);
    const spare = ['w1', 'w2', 'w3'].find((name) => !holders.includes(name))!;
    await expect(runtime.modelFile((await runtime.authenticateWorker(credentials[spare]!))!, 'tiny')).rejects.toMatchObject({ code: 'not_found' });
  });

  test('a worker silent for 3 intervals stops being routed to, and its replica is placed on the spare worker', async () => {
    await runtime.deploy(deployRequest());
    const holders = await placedWorkers();
    for (const name of holders) await beat(name, credentials[name]!);
    const [victim, survivor] = holders as [string, string];
    const spare = ['w1', 'w2', 'w3'].find((name) => !holders.includes(name))!;
    // Everyone but the victim keeps beating.
    for (let step = 0; step < 4; step += 1) {
      time += interval;
      for (const name of [survivor, spare]) await beat(name, credentials[name]!);
    }
    expect(serving.healthyWorkers('tiny')).toEqual([survivor, spare].sort());
    expect(await placedWorkers()).toEqual([survivor, spare].sort());
    expect(closed.some((name) => name.startsWith(`${victim}/`))).toBe(true);
    expect((await runtime.workers()).find((worker) => worker.name === victim)?.state).toBe('unreachable');
    // The control plane says so once, in words.
    expect(hostLog.filter((line) => line.startsWith(`${victim} lost`))).toEqual([
      expect.stringMatching(/silent for [\d.]+ s; its replicas \(rep_\w+\) are placed elsewhere/),
    ]);
    // A dead worker can be removed; a live one cannot (it would join again); an unknown one is a 404.
    await expect(runtime.removeWorker(survivor)).rejects.toMatchObject({ code: 'conflict', status: 409 });
    await runtime.removeWorker(victim);
    expect((await runtime.workers()).map((worker) => worker.name)).not.toContain(victim);
    await expect(runtime.removeWorker(victim)).rejects.toMatchObject({ code: 'not_found', status: 404 });
    await beat(victim, credentials[victim]!).catch(() => undefined);
    expect(await runtime.authenticateWorker(credentials[victim]!)).toBeUndefined();
  });

  test('explain and the deployment list agree about where each replica is and how it fares', async () => {
    await runtime.deploy(deployRequest({ replicas: 2 }));
    const holders = await placedWorkers();
    await beat(holders[0]!, credentials[holders[0]!]!);
    const agree = async (): Promise<void> => {
      const [view] = await runtime.deployments();
      const lines = (await runtime.explain('tiny')).filter((line) => line.startsWith('  rep_'));
      expect(lines).toEqual(view!.placed.map((replica) => `  ${replica.id} on ${replica.worker}: ${replica.state}`));
    };
    await agree();
    // Busy when scaled down: the list calls it retiring, and so must explain.
    const [view] = await runtime.deployments();
    for (const replica of view!.placed) serving.busy.set(`${replica.worker}/${replica.id}`, 1);
    await beat(holders[1]!, credentials[holders[1]!]!);
    await runtime.scale('tiny', { replicas: 1 });
    expect((await runtime.deployments())[0]!.placed.map((replica) => replica.state)).toContain('retiring');
    await agree();
  });

  test('a worker that leaves is forgotten at once and its replica placed elsewhere', async () => {
    await runtime.deploy(deployRequest());
    const holders = await placedWorkers();
    const spare = ['w1', 'w2', 'w3'].find((name) => !holders.includes(name))!;
    await runtime.leave((await runtime.authenticateWorker(credentials[holders[0]!]!))!);
    expect(await placedWorkers()).toEqual([holders[1]!, spare].sort());
    expect((await runtime.workers()).map((worker) => worker.name)).not.toContain(holders[0]);
    expect(await runtime.authenticateWorker(credentials[holders[0]!]!)).toBeUndefined();
  });

  test('drain moves replicas off a worker; scale changes the count; remove stops serving', async () => {
    await runtime.deploy(deployRequest());
    const holders = await placedWorkers();
    for (const name of holders) await beat(name, credentials[name]!);
    const spare = ['w1', 'w2', 'w3'].find((name) => !holders.includes(name))!;
    const view = await runtime.drain(holders[0]!, true);
    expect(view.state).toBe('draining');
    // The drained worker keeps its replica, and keeps serving, until the replacement is ready.
    expect(await placedWorkers()).toEqual(['w1', 'w2', 'w3']);
    expect(serving.healthyWorkers('tiny')).toEqual(holders);
    expect(await beat(holders[0]!, credentials[holders[0]!]!)).toHaveLength(1);
    await beat(spare, credentials[spare]!);
    expect(await placedWorkers()).toEqual([holders[1]!, spare].sort());
    expect(serving.healthyWorkers('tiny')).toEqual([holders[1]!, spare].sort());
    expect(await beat(holders[0]!, credentials[holders[0]!]!)).toEqual([]);
    expect((await runtime.scale('tiny', { replicas: 1 })).placed).toHaveLength(1);
    expect((await runtime.scale('tiny', { replicas: 3 })).placed).toHaveLength(2);
    expect((await runtime.deployments())[0]?.refusal).toMatch(/draining|already run one/);
    expect(await runtime.remove('tiny')).toBe(true);
    expect(serving.replicas.has('tiny')).toBe(false);
    expect(await runtime.deployments()).toEqual([]);
  });

  test('explain names every worker considered and why', async () => {
    await runtime.deploy(deployRequest());
    const lines = (await runtime.explain('tiny')).join('\n');
    expect(lines).toContain('tiny: 2 of 2 replicas placed');
    for (const name of ['w1', 'w2', 'w3']) expect(lines).toContain(name);
    expect(lines).toMatch(/\+ w\d: placed cpu/);
    await expect(runtime.explain('nope')).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });

  test('bad deployments are refused with the field to fix, not placed', async () => {
    await expect(runtime.deploy(deployRequest({ routing: 'fastest' }))).rejects.toMatchObject({ code: 'invalid_value', param: 'routing' });
    await expect(runtime.deploy(deployRequest({ source: join(folder, 'missing.gguf') }))).rejects.toMatchObject({ code: 'invalid_value', param: 'model' });
    await runtime.deploy(deployRequest());
    await expect(runtime.deploy(deployRequest())).rejects.toMatchObject({ code: 'conflict', status: 409 });
    await expect(runtime.scale('nope', { replicas: 1 })).rejects.toMatchObject({ code: 'not_found' });
  });
});

test('two control-plane processes on one store: a worker beating one is alive, and served, on the other', async () => {
  const { token } = await runtime.createJoinToken();
  const credential = (await join_('w1', token)).credential;
  await runtime.deploy(deployRequest({ replicas: 1 }));
  const otherServing = new FakeServing();
  const other = poolRuntime(otherServing, async (source) => source);
  await other.start();
  try {
    for (let step = 0; step < 5; step += 1) {
      time += interval;
      await beat('w1', credential);
      await other.reconcile();
    }
    expect(otherServing.healthyWorkers('tiny')).toEqual(['w1']);
    expect((await other.deployments())[0]?.placed.map((replica) => [replica.worker, replica.state])).toEqual([['w1', 'ready']]);
    // Once the worker falls silent, both see it.
    time += interval * 4;
    await other.reconcile();
    await runtime.reconcile();
    expect(otherServing.healthyWorkers('tiny')).toEqual([]);
    expect(serving.healthyWorkers('tiny')).toEqual([]);
  } finally {
    await other.stop();
  }
});

test('a model too large for every worker is a refusal in words', async () => {
  const { token } = await runtime.createJoinToken();
  await join_('w1', token, 0);
  const view = await runtime.deploy(deployRequest({ replicas: 1 }));
  expect(view.placed).toEqual([]);
  expect(view.refusal).toMatch(/placed 0 of 1 replicas/);
  expect((await runtime.explain('tiny')).join('\n')).toContain('- w1:');
});

test('deployments and workers survive a control-plane restart; workers get a heartbeat of grace', async () => {
  const { token } = await runtime.createJoinToken();
  const credential = (await join_('w1', token)).credential;
  await runtime.deploy(deployRequest({ replicas: 1 }));
  await beat('w1', credential);
  await runtime.stop();
  serving = new FakeServing();
  runtime = newRuntime();
  time += interval * 2;
  await runtime.start();
  await runtime.reconcile();
  expect((await runtime.deployments()).map((deployment) => [deployment.name, deployment.placed.map((replica) => [replica.worker, replica.state])])).toEqual([
    ['tiny', [['w1', 'ready']]],
  ]);
  expect(serving.healthyWorkers('tiny')).toEqual(['w1']);
});

describe('autoscaling', () => {
  let credentials: Record<string, string>;
  const names = ['w1', 'w2', 'w3'];
  const autoscale = { minReplicas: 0, maxReplicas: 3, scaleDownDelayMs: 10_000, scaleFromZeroTimeoutMs: 30_000 };

  beforeEach(async () => {
    const { token } = await runtime.createJoinToken();
    credentials = {};
    for (const name of names) credentials[name] = (await join_(name, token)).credential;
  });

  const view = async () => (await runtime.deployments())[0]!;
  /** A deployment that autoscales and starts at its minimum. */
  const scaled = (settings: DeployRequest['autoscale']): DeployRequest => {
    const request = deployRequest({ autoscale: settings });
    delete request.replicas;
    return request;
  };
  /** Every worker beats (its replicas in `state`), time moves one interval, the autoscaler ticks; `steps` times. */
  async function pass(steps: number, state: 'ready' | 'loading' = 'ready'): Promise<void> {
    for (let step = 0; step < steps; step += 1) {
      time += interval;
      for (const name of names) await beat(name, credentials[name]!, state);
      await runtime.autoscale();
    }
  }
  /** Settles as 'resolved', or the rejection's error; 'pending' while neither. */
  function track(promise: Promise<void>): { outcome: 'pending' | 'resolved' | unknown } {
    const tracked: { outcome: unknown } = { outcome: 'pending' };
    promise.then(
      () => (tracked.outcome = 'resolved'),
      (error: unknown) => (tracked.outcome = error),
    );
    return tracked;
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  test('queue above target adds replicas at once, up to the maximum and the workers that have room', async () => {
    await runtime.deploy(scaled({ ...autoscale, minReplicas: 1 }));
    expect((await view()).placed).toHaveLength(1);
    await pass(1);
    serving.demand.set('tiny', 3);
    await runtime.autoscale();
    expect(await view()).toMatchObject({
      replicas: 2,
      lastScale: { from: 1, to: 2, reason: 'demand 3 on 1 ready replica passes the target of 2 per replica' },
    });
    expect((await view()).placed).toHaveLength(2);
    // Twenty requests want ten replicas: the maximum is 3, and three workers hold one each.
    serving.demand.set('tiny', 20);
    await runtime.autoscale();
    expect((await view()).replicas).toBe(3);
    await pass(1);
    expect(serving.healthyWorkers('tiny')).toEqual(names);
    expect((await runtime.explain('tiny')).join('\n')).toMatch(/autoscale: 1 to 3 replicas, target 2[\s\S]*last scale: 2 -> 3/);
  });

  test('demand below target takes one replica away per delay, down to zero', async () => {
    await runtime.deploy(deployRequest({ replicas: 2, autoscale }));
    await pass(1);
    expect(serving.healthyWorkers('tiny')).toHaveLength(2);
    // Quiet for just under the delay: nothing goes.
    await pass(8);
    expect((await view()).replicas).toBe(2);
    await pass(1);
    expect(await view()).toMatchObject({ replicas: 1, lastScale: { from: 2, to: 1 } });
    expect((await view()).placed).toHaveLength(1);
    // The next step waits a whole delay after the last change, and demand resets it.
    await pass(5);
    serving.demand.set('tiny', 2);
    await pass(1);
    serving.demand.delete('tiny');
    await pass(9);
    expect((await view()).replicas).toBe(1);
    await pass(1);
    expect(await view()).toMatchObject({ replicas: 0, placed: [], lastScale: { from: 1, to: 0, reason: 'idle for 10 s: scaled to zero' } });
    expect(serving.healthyWorkers('tiny')).toEqual([]);
    // At zero it still holds requests, so it still looks callable.
    expect(runtime.holds('tiny')).toBe(true);
  });

  test('from zero: a request is held, a replica is placed at once, and the request goes on when it is ready', async () => {
    await runtime.deploy(scaled(autoscale));
    expect(await view()).toMatchObject({ replicas: 0, placed: [] });
    const held = track(runtime.waitForReplica('tiny', new AbortController().signal));
    await runtime.autoscale();
    expect(await view()).toMatchObject({ replicas: 1, held: 1, lastScale: { from: 0, to: 1, reason: '1 request held at zero replicas' } });
    expect((await view()).placed).toHaveLength(1);
    await pass(2, 'loading');
    expect(held.outcome).toBe('pending');
    await pass(1, 'ready');
    await settle();
    expect(held.outcome).toBe('resolved');
    expect((await view()).held).toBeUndefined();
    // With a replica ready, the next request is not held at all.
    await expect(runtime.waitForReplica('tiny', new AbortController().signal)).resolves.toBeUndefined();
  });

  test('a held request past scaleFromZeroTimeoutMs gets a 503 model_not_ready; a client that leaves or a stop releases it', async () => {
    await runtime.deploy(scaled({ ...autoscale, scaleFromZeroTimeoutMs: 5000 }));
    const held = track(runtime.waitForReplica('tiny', new AbortController().signal));
    await runtime.autoscale();
    await pass(4, 'loading');
    await settle();
    expect(held.outcome).toBe('pending');
    await pass(1, 'loading');
    await settle();
    expect(held.outcome).toMatchObject({ code: 'model_not_ready', status: 503, message: expect.stringContaining('within 5 s') });
    expect((await view()).held).toBeUndefined();

    const client = new AbortController();
    const left = track(runtime.waitForReplica('tiny', client.signal));
    expect((await view()).held).toBe(1);
    client.abort(new Error('client disconnected'));
    await settle();
    expect(left.outcome).toMatchObject({ message: 'client disconnected' });
    expect((await view()).held).toBeUndefined();

    const stopped = track(runtime.waitForReplica('tiny', new AbortController().signal));
    await runtime.stop();
    await settle();
    expect(stopped.outcome).toMatchObject({ code: 'shutting_down', status: 503 });
  });

  test('scaling down stops a replica with no request in flight before a busy one', async () => {
    await runtime.deploy(deployRequest({ replicas: 2 }));
    await pass(1);
    // Both were placed at once: without requests in flight, the first listed would go.
    const [first, second] = (await view()).placed;
    serving.busy.set(`${first!.worker}/${first!.id}`, 1);
    expect((await runtime.scale('tiny', { replicas: 1 })).placed.map((replica) => replica.id)).toEqual([first!.id]);
    expect(second).toBeDefined();
  });

  test('scaling down when every replica is busy: one stops taking requests and goes once its requests end', async () => {
    await runtime.deploy(deployRequest({ replicas: 2 }));
    await pass(1);
    const [first, second] = (await view()).placed;
    const busyId = (replica: typeof first) => `${replica!.worker}/${replica!.id}`;
    serving.busy.set(busyId(first), 1);
    serving.busy.set(busyId(second), 2);
    // Both busy: the one with fewer requests retires. It stays placed, but the router no longer picks it.
    expect((await runtime.scale('tiny', { replicas: 1 })).placed.map((replica) => replica.id).sort()).toEqual([first!.id, second!.id].sort());
    expect(serving.healthyWorkers('tiny')).toEqual([second!.worker]);
    time += interval;
    await runtime.reconcile();
    expect((await view()).placed).toHaveLength(2);
    // Its last request ends: the next reconcile removes it.
    serving.busy.set(busyId(first), 0);
    time += interval;
    await runtime.reconcile();
    expect((await view()).placed.map((replica) => replica.id)).toEqual([second!.id]);
    expect(serving.healthyWorkers('tiny')).toEqual([second!.worker]);
  });

  test('a retiring replica serves again when demand comes back, and goes after 5 min however busy', async () => {
    await runtime.deploy(deployRequest({ replicas: 2 }));
    await pass(1);
    const placed = (await view()).placed;
    for (const replica of placed) serving.busy.set(`${replica.worker}/${replica.id}`, 1);
    await runtime.scale('tiny', { replicas: 1 });
    expect(serving.healthyWorkers('tiny')).toHaveLength(1);
    await runtime.scale('tiny', { replicas: 2 });
    expect(serving.healthyWorkers('tiny')).toHaveLength(2);
    expect((await view()).placed).toHaveLength(2);
    await runtime.scale('tiny', { replicas: 1 });
    expect(serving.healthyWorkers('tiny')).toHaveLength(1);
    // Workers that keep beating with their replicas ready, while time moves in heartbeat steps.
    const wait = async (ms: number) => {
      for (let left = ms; left > 0; left -= interval) {
        time += interval;
        const placedNow = (await view()).placed;
        for (const name of names) {
          const worker = (await runtime.authenticateWorker(credentials[name]!))!;
          const replicas = placedNow.filter((replica) => replica.worker === name).map((replica) => ({ id: replica.id, state: 'ready' as const }));
          await runtime.heartbeat(worker, {
            load: { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 },
            hardware: hardware(),
            replicas,
          });
        }
        await runtime.reconcile();
      }
    };
    await wait(299_000);
    expect((await view()).placed).toHaveLength(2);
    expect(serving.healthyWorkers('tiny')).toHaveLength(1);
    await wait(1000);
    expect((await view()).placed).toHaveLength(1);
  });

  test('a deployment of a fixed count holds nothing; autoscale settings are checked and can be turned off', async () => {
    await runtime.deploy(deployRequest({ replicas: 1 }));
    expect(runtime.holds('tiny')).toBe(false);
    await expect(runtime.scale('tiny', { autoscale: { minReplicas: 3, maxReplicas: 2 } })).rejects.toMatchObject({
      code: 'invalid_value',
      param: 'min_replicas',
    });
    await expect(runtime.scale('tiny', { autoscale: { maxReplicas: 0 } })).rejects.toMatchObject({ param: 'max_replicas' });
    const ranged = await runtime.scale('tiny', { autoscale: { minReplicas: 0, maxReplicas: 2 } });
    expect(ranged).toMatchObject({
      replicas: 1,
      autoscale: { minReplicas: 0, maxReplicas: 2, targetQueuePerReplica: 2, scaleDownDelayMs: 60_000, scaleFromZeroTimeoutMs: 120_000 },
    });
    expect(runtime.holds('tiny')).toBe(true);
    await expect(runtime.scale('tiny', { replicas: 5 })).rejects.toMatchObject({ param: 'replicas', message: expect.stringContaining('"autoscale": false') });
    expect(await runtime.scale('tiny', { replicas: 2 })).toMatchObject({ replicas: 2, lastScale: { from: 1, to: 2, reason: 'set by an operator' } });
    // Moving the range takes the count into it.
    expect((await runtime.scale('tiny', { autoscale: { maxReplicas: 1 } })).replicas).toBe(1);
    expect(await runtime.scale('tiny', { autoscale: false, replicas: 3 })).toMatchObject({ replicas: 3, autoscale: null });
    expect(runtime.holds('tiny')).toBe(false);
    await expect(runtime.deploy(deployRequest({ name: 'zero', replicas: 0 }))).rejects.toMatchObject({ param: 'replicas' });
    await expect(runtime.deploy(deployRequest({ name: 'out', replicas: 4, autoscale: { maxReplicas: 2 } }))).rejects.toMatchObject({ param: 'replicas' });
  });
});

describe('load backoff', () => {
  let credentials: Record<string, string>;
  const names = ['w1', 'w2', 'w3'];
  beforeEach(async () => {
    const { token } = await runtime.createJoinToken();
    credentials = {};
    for (const name of names) credentials[name] = (await join_(name, token)).credential;
  });
  const view = async () => (await runtime.deployments())[0]!;
  async function everyone(state: 'ready' | 'loading' | 'failed'): Promise<void> {
    for (const name of names) await beat(name, credentials[name]!, state);
  }
  /** Time moves by `ms`; the workers beat (loading) so they stay alive; the autoscaler ticks (placing again once the backoff passed). */
  async function wait(ms: number): Promise<void> {
    time += ms;
    await everyone('loading');
    await runtime.autoscale();
    await runtime.reconcile();
  }

  test('a replica that fails to load is placed again after 1 s, then 2 s, ...; one that loads ends the backoff', async () => {
    await runtime.deploy(deployRequest({ replicas: 1 }));
    expect((await view()).placed).toHaveLength(1);
    await everyone('failed');
    expect(await view()).toMatchObject({ placed: [], loadBackoff: { failures: 1, lastError: 'out of memory' } });
    expect((await view()).refusal).toContain('failed to load 1 time(s) in a row (last: out of memory); placed again in 1 s');
    await wait(999);
    expect((await view()).placed).toHaveLength(0);
    await wait(1);
    expect((await view()).placed).toHaveLength(1);
    await everyone('failed');
    expect((await view()).loadBackoff?.failures).toBe(2);
    await wait(1999);
    expect((await view()).placed).toHaveLength(0);
    expect((await runtime.explain('tiny')).join('\n')).toContain('failed to load 2 time(s)');
    await wait(1);
    expect((await view()).placed).toHaveLength(1);
    await everyone('ready');
    expect(await view()).toMatchObject({ placed: [expect.objectContaining({ state: 'ready' })] });
    expect((await view()).loadBackoff).toBeUndefined();
  });
});
