/**
 * Issue 25's high-availability rig, as real processes from dist/ (run `npm run build` first):
 * three `nimbus serve` on one fresh PostgreSQL database behind Debian's haproxy (`haproxy.ts`),
 * devices on the external Mosquitto at 127.0.0.1:1883 (a topic root of its own), three `nimbus
 * worker` joined with every address, and a deployment of three replicas (stories260K). A round
 * (`failoverRound`) sends concurrent streams through haproxy and SIGKILLs the leader once streams
 * through it flow; `replaceKilled` starts a control plane again on the killed one's port, so
 * haproxy and the workers find it where it was. Used by test/control-plane-failover.test.ts (one
 * round) and bench/failover.ts (repeated rounds, medians).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { killNimbusProcesses, startNimbusProcess, type NimbusProcess } from './nimbus-process.js';
import { poolAdmin, readyWorkers } from './pool-admin.js';
import { killWorkerProcesses, startWorkerProcess } from './pool-processes.js';
import { mosquittoUrl, uniqueRoot } from './devices.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { createTestDatabase } from './services.js';
import { storiesPath } from './shared-model.js';

export interface HaRig {
  heartbeatMs: number;
  /** The operator key every control plane stores from NIMBUS_ADMIN_KEY (local mode is off: haproxy's Host is not theirs). */
  adminKey: string;
  database: { url: string; drop(): Promise<void> };
  /** The control planes, in haproxy's order (`p0`, `p1`, `p2`); a replaced one takes its index. */
  planes: NimbusProcess[];
  haproxy: Haproxy;
  /** Devices' topic root on Mosquitto, shared by every control plane. */
  topicRoot: string;
  close(): Promise<void>;
}

/** What one round saw; every figure from the clients' side except the takeover (the survivor's log). */
export interface RoundFigures {
  streams: number;
  /** Streams haproxy sent to the control plane that was killed. */
  throughKilled: number;
  /** Streams that ended in an error: their clients saw the connection break. */
  cut: number;
  /** Of those, streams through a survivor (the bar: none). */
  cutThroughSurvivors: number;
  /** Cut requests sent again through haproxy, and those answered. */
  retried: number;
  retriedAnswered: number;
  /** From the SIGKILL to a survivor logging the next lease generation. */
  takeoverMs: number;
  /** From a deployment made through haproxy after the kill to its replica ready on the new leader. */
  placedMs: number;
  /** Every stream's outcome, for a failure's message. */
  outcomes: StreamOutcome[];
}

export interface StreamOutcome {
  index: number;
  /** haproxy's server (`p0`...) that answered, or undefined when no answer began. */
  upstream: string | undefined;
  chunks: number;
  completed: boolean;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms: number, everyMs = 10): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const leads = (plane: NimbusProcess, generation: number): boolean => plane.output().includes(`leads the pool (lease generation ${generation})`);
const alive = (plane: NimbusProcess): boolean => plane.child.exitCode === null && plane.child.signalCode === null;

/** The highest lease generation a control plane logged leading (0 if none). */
function latestGeneration(plane: NimbusProcess): number {
  return Math.max(0, ...[...plane.output().matchAll(/leads the pool \(lease generation (\d+)\)/g)].map((match) => Number(match[1])));
}

/** A control plane of the rig; `port` restarts one where it was. */
function startPlane(rig: Pick<HaRig, 'database' | 'heartbeatMs' | 'adminKey'>, config: string, port?: number): Promise<NimbusProcess> {
  return startNimbusProcess(port === undefined ? [] : ['--port', String(port)], {
    NIMBUS_ADMIN_KEY: rig.adminKey,
    NIMBUS_DATABASE_URL: rig.database.url,
    NIMBUS_POOL_HEARTBEAT_MS: String(rig.heartbeatMs),
    NIMBUS_LOG_LEVEL: 'info',
    NIMBUS_CONFIG: config,
    NIMBUS_MQTT_URL: mosquittoUrl,
    NIMBUS_MQTT_ALLOW_ANONYMOUS: '1',
  });
}

let configPath = '';
let modelPath = '';

/** Starts the rig: planes, haproxy, workers, the deployment served through every plane. */
export async function startHaRig(heartbeatMs = 1000, model = storiesPath): Promise<HaRig> {
  if (!model) throw new Error('stories260K.gguf was not found: set NIMBUS_TEST_MODEL to its path.');
  modelPath = model;
  const database = await createTestDatabase();
  const topicRoot = uniqueRoot();
  configPath = join(mkdtempSync(join(tmpdir(), 'nimbus-ha-config-')), 'nimbus.json');
  writeFileSync(configPath, JSON.stringify({ devices: { topicRoot } }));
  const base = { database, heartbeatMs, adminKey: `nmb_${randomBytes(32).toString('base64url')}` };
  // One first, so it runs the migrations and leads generation 1; then two more.
  const planes = [await startPlane(base, configPath)];
  await until('a leader', () => (leads(planes[0]!, 1) ? true : undefined), 10_000);
  planes.push(...(await Promise.all([startPlane(base, configPath), startPlane(base, configPath)])));
  const haproxy = await startHaproxy(planes.map((plane) => plane.url));
  const rig: HaRig = {
    ...base,
    planes,
    haproxy,
    topicRoot,
    async close() {
      await haproxy.close();
      killWorkerProcesses();
      killNimbusProcesses();
      await sleep(500);
      await database.drop();
    },
  };
  const admin = poolAdmin(() => haproxy.url, rig.adminKey);
  const { token } = await admin.call<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  const addresses = planes.map((plane) => plane.url).join(',');
  await Promise.all(['w1', 'w2', 'w3'].map((name) => startWorkerProcess(name, addresses, token)));
  await admin.call('POST', '/v1/deployments', {
    model: modelPath,
    name: 'stories',
    replicas: 3,
    device: 'cpu',
    context_size: 256,
    slots: 32,
    routing: 'round-robin',
  });
  await servesEverywhere(rig);
  return rig;
}

/** Waits until every control plane serves all three replicas. */
async function servesEverywhere(rig: HaRig): Promise<void> {
  for (const plane of rig.planes)
    await poolAdmin(() => plane.url, rig.adminKey).waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 3, 90_000);
}

/**
 * The control plane leading now: the live one that logged the highest generation (on a loaded
 * machine a lease can change hands before any kill), with its index and that generation.
 */
export function leaderOf(rig: HaRig): { leader: NimbusProcess; index: number; generation: number } {
  let found = { index: -1, generation: 0 };
  rig.planes.forEach((plane, index) => {
    const generation = latestGeneration(plane);
    if (alive(plane) && generation > found.generation) found = { index, generation };
  });
  if (found.index < 0) throw new Error('no live control plane logged leading the pool');
  return { leader: rig.planes[found.index]!, ...found };
}

/**
 * One round: `streams` concurrent streams through haproxy; once three through the leader have five
 * chunks each, the leader is SIGKILLed. Then: the takeover is timed, each cut request is sent again
 * through haproxy, and a deployment made through haproxy is placed by the new leader (and removed).
 */
export async function failoverRound(rig: HaRig, round: number, streams = 50, maxTokens = 96): Promise<RoundFigures & { killed: number }> {
  const { leader, index: killedIndex, generation } = leaderOf(rig);
  const killedName = `p${killedIndex}`;
  const survivors = rig.planes.filter((plane) => plane !== leader);
  const client = new OpenAI({ baseURL: `${rig.haproxy.url}/v1`, apiKey: rig.adminKey, maxRetries: 0, timeout: 60_000 });
  const flowing = new Map<number, StreamOutcome>();
  let takeover: Promise<number> | undefined;
  const maybeKill = (): void => {
    if (takeover) return;
    if ([...flowing.values()].filter((outcome) => outcome.upstream === killedName && outcome.chunks >= 5).length < 3) return;
    const killedAt = performance.now();
    leader.child.kill('SIGKILL');
    // Watched from the kill on, while the streams go on: a survivor leads a later generation.
    takeover = until(`a generation after ${generation}`, () => survivors.find((plane) => latestGeneration(plane) > generation), 10 * rig.heartbeatMs).then(() =>
      Math.round(performance.now() - killedAt),
    );
    // Awaited once the streams end; a timeout is reported there, not as an unhandled rejection meanwhile.
    takeover.catch(() => undefined);
  };
  const prompt = (index: number): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content: `Once upon a time ${round}.${index}` }];
  const one = async (index: number): Promise<StreamOutcome> => {
    const outcome: StreamOutcome = { index, upstream: undefined, chunks: 0, completed: false };
    try {
      const { data, response } = await client.chat.completions
        .create({ model: 'stories', messages: prompt(index), max_tokens: maxTokens, stream: true })
        .withResponse();
      outcome.upstream = response.headers.get('x-upstream') ?? undefined;
      flowing.set(index, outcome);
      let finish: string | null = null;
      for await (const chunk of data) {
        if (chunk.choices[0]?.delta.content) outcome.chunks += 1;
        finish = chunk.choices[0]?.finish_reason ?? finish;
        maybeKill();
      }
      outcome.completed = finish === 'stop' || finish === 'length';
    } catch (error) {
      outcome.error = `${(error as Error).constructor.name}: ${(error as Error).message}`;
    } finally {
      flowing.delete(index);
    }
    return outcome;
  };
  const outcomes = await Promise.all(Array.from({ length: streams }, (_, index) => one(index)));
  if (!takeover) throw new Error(`the leader was never killed: fewer than three streams through it reached five chunks (${JSON.stringify(outcomes)})`);
  const takeoverMs = await takeover.catch((error: Error) => {
    const pool = rig.planes.map(
      (plane, index) =>
        `p${index}: ${
          plane
            .output()
            .match(/.*pool: .*(leads|follows).*/g)
            ?.join(' | ') ?? 'no lease line'
        }`,
    );
    throw new Error(`${error.message} (p${killedIndex} killed at generation ${generation}); ${pool.join('; ')}`);
  });
  const cut = outcomes.filter((outcome) => !outcome.completed);
  // Each cut request, sent again by its client through haproxy: the dead server is skipped.
  const retried = await Promise.all(
    cut.map((outcome) =>
      client.chat.completions.create({ model: 'stories', messages: prompt(outcome.index), max_tokens: 16 }).then(
        (answer) => /stop|length/.test(answer.choices[0]?.finish_reason ?? ''),
        () => false,
      ),
    ),
  );
  // Placement resumes: a deployment made through haproxy is placed by the new leader.
  const admin = poolAdmin(() => rig.haproxy.url, rig.adminKey);
  const made = performance.now();
  const name = `after-${round}`;
  await admin.call('POST', '/v1/deployments', { model: modelPath, name, replicas: 1, device: 'cpu', context_size: 256, slots: 2, routing: 'round-robin' });
  await admin.waitForDeployment(name, (deployment) => readyWorkers(deployment).length === 1, 60_000);
  const placedMs = Math.round(performance.now() - made);
  await admin.call('DELETE', `/v1/deployments/${name}`);
  return {
    killed: killedIndex,
    streams,
    throughKilled: outcomes.filter((outcome) => outcome.upstream === killedName).length,
    cut: cut.length,
    cutThroughSurvivors: cut.filter((outcome) => outcome.upstream !== killedName).length,
    retried: retried.length,
    retriedAnswered: retried.filter(Boolean).length,
    takeoverMs,
    placedMs,
    outcomes,
  };
}

/** Starts a control plane again on the killed one's port (haproxy and the workers know it there); waits until it serves. */
export async function replaceKilled(rig: HaRig, index: number): Promise<void> {
  const port = Number(new URL(rig.planes[index]!.url).port);
  const plane = await until('the port to be free again', () => startPlane(rig, configPath, port).catch(() => undefined), 10_000, 200);
  rig.planes[index] = plane;
  await poolAdmin(() => plane.url, rig.adminKey).waitForDeployment('stories', (deployment) => readyWorkers(deployment).length === 3, 30_000);
  // haproxy's health check (every 250 ms) takes it back.
  await sleep(600);
}
