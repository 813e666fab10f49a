/**
 * Two builds of Nimbus against each other for a change on the device path, in one script: each
 * build is a server process with its embedded broker and SQLite, a virtual lamp and a fleet of
 * plain MQTT devices. Rounds alternate between the builds (A then B, then B then A), `--pairs`
 * times, and each round measures both figures of the devices benchmark:
 *
 *   - command round trip: `PUT /v1/devices/lamp/properties/brightness` -> policy, audit, store ->
 *     MQTT -> the lamp's ack -> the HTTP answer, `--commands` in a row; the round's median, and
 *     the server's CPU time per command over the round (steadier than latency on a loaded machine);
 *   - telemetry ingest: `--devices` devices publish `--messages` reported states each (every one
 *     a change), counted as they come out of the server's live feed (`GET /v1/events`, one `twin`
 *     event per applied change); messages per second.
 *
 * This machine's speed moves by +-10% from one run to the next and by 2x over a day, so only
 * builds measured seconds apart compare. It prints, for each figure, the median over pairs of
 * B's cost divided by A's (time per command, time per message) with the interquartile range: a
 * range that includes 1.0 means "no difference measured".
 *
 *   npm run build && cp -r dist /tmp/dist-before   # then change the code
 *   npm run build && npx tsx bench/devices-ab.ts /tmp/dist-before dist [--pairs 20] [--commands 40] [--devices 100] [--messages 10] [--profile DIR]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { connectMqtt } from '../src/devices/mqtt/connect-mqtt.js';
import { simCatalog } from '../src/devices/sim/sim-catalog.js';
import { VirtualDevice } from '../src/devices/sim/virtual-device.js';
import { cpuMs, median, percentile, report, spawnListening, type Child } from './support.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pairs: { type: 'string', default: '20' },
    commands: { type: 'string', default: '40' },
    devices: { type: 'string', default: '100' },
    messages: { type: 'string', default: '10' },
    // Writes a V8 CPU profile of build B's server into this folder (node --cpu-prof), for finding where a command's time goes.
    profile: { type: 'string' },
  },
});
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/devices-ab.ts DIST_A DIST_B [--pairs 20] [--commands 40] [--devices 100] [--messages 10]');
  process.exit(2);
}
const [distA, distB] = positionals.map((dist) => resolve(dist)) as [string, string];
const pairs = Number(values.pairs);
const commands = Number(values.commands);
const deviceCount = Number(values.devices);
const messages = Number(values.messages);
const tenantId = 'default';

const work = mkdtempSync(join(tmpdir(), 'nimbus-bench-devices-ab-'));
const configPath = join(work, 'nimbus.json');
// Local mode (no key), embedded broker on a free port, no rate limit in the way of the benchmark.
const benchDevices = { rateLimitPerMinute: 100_000, rateLimitBurst: 10_000, commandTimeoutMs: 30_000 };
writeFileSync(configPath, JSON.stringify({ mqttPort: 0, devices: benchDevices }));

/**
 * The config file for a build: builds that cap actuations per key (issue 17) get the cap raised out
 * of the way; older builds refuse keys they do not know, so they get the file without it.
 */
function configFor(dist: string): string {
  if (!readFileSync(join(dist, 'core', 'config.js'), 'utf8').includes('actuationsPerKeyPerMinute')) return configPath;
  const path = join(work, `nimbus-${createHash('sha256').update(dist).digest('hex').slice(0, 8)}.json`);
  writeFileSync(path, JSON.stringify({ mqttPort: 0, devices: { ...benchDevices, actuationsPerKeyPerMinute: 100_000 } }));
  return path;
}

/** One build, running: its server, its lamp, its fleet and the twin events its live feed delivered. */
interface Build {
  name: string;
  server: Child;
  lamp: VirtualDevice;
  fleet: Array<{ id: string; topic: string; client: MqttClient }>;
  twinEvents(): number;
  close(): Promise<void>;
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Counts `event: twin` blocks of the live feed. */
async function watchTwins(url: string): Promise<{ count(): number; stop(): void }> {
  const abort = new AbortController();
  const response = await fetch(`${url}/v1/events`, { signal: abort.signal });
  let count = 0;
  let carry = '';
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = carry + decoder.decode(chunk, { stream: true });
        const cut = text.lastIndexOf('\n');
        carry = text.slice(cut + 1);
        for (let at = text.indexOf('event: twin\n'); at !== -1 && at < cut; at = text.indexOf('event: twin\n', at + 1)) count += 1;
      }
    } catch {
      // Aborted at the end.
    }
  })();
  return { count: () => count, stop: () => abort.abort() };
}

async function startBuild(name: string, dist: string): Promise<Build> {
  const profile = name === 'b' && values.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(values.profile)] : [];
  const server = await spawnListening(
    [...profile, join(dist, 'cli', 'main.js'), 'serve', '--config', configFor(dist), '--port', '0', '--home', join(work, name), '--log-level', 'warn'],
    join(work, `${name}.log`),
  );
  const broker = (await call(server.url, 'GET', '/v1/mqtt')) as { url: string; topic_root: string };
  const registered = await call(server.url, 'PUT', '/v1/devices/bench-lamp', { model: simCatalog.lamp.model });
  const lamp = await VirtualDevice.start({
    url: broker.url,
    topicRoot: broker.topic_root,
    tenantId,
    deviceId: 'bench-lamp',
    secret: registered.secret as string,
    kind: 'lamp',
  });
  const fleet: Build['fleet'] = [];
  for (let index = 0; index < deviceCount; index += 1) {
    const id = `ingest-${index}`;
    const { secret } = (await call(server.url, 'PUT', `/v1/devices/${id}`, { model: simCatalog.lamp.model })) as { secret: string };
    const client = await connectMqtt(broker.url, { username: `${tenantId}/${id}`, password: secret, clientId: `${name}.${id}`, reconnectPeriod: 0 }, 4);
    fleet.push({ id, topic: `${broker.topic_root}/${tenantId}/devices/${id}/reported`, client });
  }
  const twins = await watchTwins(server.url);
  return {
    name,
    server,
    lamp,
    fleet,
    twinEvents: twins.count,
    async close() {
      twins.stop();
      await Promise.all(fleet.map(({ client }) => client.endAsync()));
      await lamp.stop();
      await new Promise<void>((done) => {
        server.process.once('exit', () => done());
        server.process.kill('SIGTERM');
      });
    },
  };
}

/**
 * `commands` round trips in a row; their median, in ms, and the server's CPU time per command
 * (user and system, all threads, from /proc: 10 ms ticks, so a round needs enough commands). On a
 * machine loaded by other work the latency swings with the scheduler; CPU time much less.
 */
async function roundTrips(build: Build, round: number): Promise<{ rtt: number; cpu: number }> {
  const latencies: number[] = [];
  const cpuBefore = cpuMs(build.server.process);
  for (let index = 0; index < commands; index += 1) {
    const started = performance.now();
    const answer = await call(build.server.url, 'PUT', '/v1/devices/bench-lamp/properties/brightness', { value: (round * commands + index) % 101 });
    if (answer.status !== 'acked') throw new Error(`${build.name}: a command was not acked: ${JSON.stringify(answer)}`);
    latencies.push(performance.now() - started);
  }
  return { rtt: median(latencies), cpu: (cpuMs(build.server.process) - cpuBefore) / commands };
}

/**
 * Every device publishes `messages` reported states (each a change), round-robin, at most 500
 * published and not yet seen in the feed; messages per second until the feed has them all.
 */
async function ingest(build: Build, round: number): Promise<number> {
  const total = build.fleet.length * messages;
  const base = build.twinEvents();
  const seen = (): number => build.twinEvents() - base;
  const started = performance.now();
  let sent = 0;
  for (let step = 0; step < messages; step += 1) {
    // Values differ from one message to the next and from the last round's, so every message is a change.
    const state = JSON.stringify({ on: (round + step) % 2 === 0, brightness: (round * messages + step) % 101 });
    for (const device of build.fleet) {
      while (sent - seen() >= 500) await new Promise((resolve) => setImmediate(resolve));
      void device.client.publishAsync(device.topic, state, { qos: 1 });
      sent += 1;
    }
  }
  let last = performance.now();
  for (let count = seen(); count < total; count = seen()) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (seen() > count) last = performance.now();
    else if (performance.now() - last > 5000) throw new Error(`${build.name}: the feed delivered ${seen()} of ${total} twin changes`);
  }
  return total / ((performance.now() - started) / 1000);
}

const builds = { a: await startBuild('a', distA), b: await startBuild('b', distB) };
try {
  // Warm both (JIT, the store's statements, the broker's sessions) before measuring.
  for (const build of [builds.a, builds.b]) {
    await roundTrips(build, 0);
    await ingest(build, 0);
  }
  type Figures = { rtt: number; cpu: number; rate: number };
  const runs: Array<{ a: Figures; b: Figures }> = [];
  for (let pair = 1; pair <= pairs; pair += 1) {
    const order = pair % 2 === 1 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const figures: Partial<Record<'a' | 'b', Figures>> = {};
    for (const name of order) figures[name] = { ...(await roundTrips(builds[name], pair)), rate: await ingest(builds[name], pair) };
    runs.push(figures as { a: Figures; b: Figures });
  }
  const rttRatios = runs.map((run) => run.b.rtt / run.a.rtt);
  const cpuRatios = runs.map((run) => run.b.cpu / run.a.cpu);
  const ingestRatios = runs.map((run) => run.a.rate / run.b.rate);
  report('devices A/B', {
    b_vs_a_round_trip: median(rttRatios),
    b_vs_a_round_trip_q1: percentile(rttRatios, 0.25),
    b_vs_a_round_trip_q3: percentile(rttRatios, 0.75),
    b_vs_a_command_cpu: median(cpuRatios),
    b_vs_a_command_cpu_q1: percentile(cpuRatios, 0.25),
    b_vs_a_command_cpu_q3: percentile(cpuRatios, 0.75),
    b_vs_a_ingest_time_per_message: median(ingestRatios),
    b_vs_a_ingest_q1: percentile(ingestRatios, 0.25),
    b_vs_a_ingest_q3: percentile(ingestRatios, 0.75),
    a_round_trip_p50_ms: median(runs.map((run) => run.a.rtt)),
    b_round_trip_p50_ms: median(runs.map((run) => run.b.rtt)),
    a_command_cpu_ms: median(runs.map((run) => run.a.cpu)),
    b_command_cpu_ms: median(runs.map((run) => run.b.cpu)),
    a_ingest_msgs_per_s: median(runs.map((run) => run.a.rate)),
    b_ingest_msgs_per_s: median(runs.map((run) => run.b.rate)),
    pairs,
    commands,
    devices: deviceCount,
    messages,
  });
} finally {
  await builds.a.close();
  await builds.b.close();
}
