/**
 * The image's entry point as a plain process against this checkout's build, given the environment
 * and arguments the Kubernetes manifests give the containers (deploy/kubernetes/base), with the
 * Secrets' example values swapped for real services here: PostgreSQL, Redis. A control plane with
 * no local model (as in the Deployment) starts and passes its Deployment's probes; a worker from
 * the DaemonSet binds its "pod IP", joins with the token from the Secret, the control plane lists
 * it at that address and serves a deployment through it. The image itself is built and run by
 * test/container-image.test.ts (NIMBUS_IMAGE_TEST=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { killEntrypointProcesses, startEntrypoint } from './support/entrypoint-process.js';
import {
  baseGeneratorLiterals,
  containerEnvironment,
  expand,
  podSpec,
  readBaseObject,
  type Container,
  type EnvironmentSources,
  type Probe,
} from './support/kubernetes.js';
import { createTestDatabase, redisUrl, skipWithoutPostgres, skipWithoutRedis } from './support/services.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

afterEach(killEntrypointProcesses);

const controlPlane = podSpec(readBaseObject('control-plane-deployment.yaml')).containers[0]!;
const worker = podSpec(readBaseObject('worker-daemonset.yaml')).containers[0]!;
const probes = (container: Container): Probe[] =>
  [container.startupProbe, container.livenessProbe, container.readinessProbe].filter((probe) => probe !== undefined);

async function expectProbesPass(url: string, container: Container): Promise<void> {
  for (const probe of probes(container)) {
    const path = probe.httpGet!.path;
    let status = 0;
    // Readiness may take a moment (the store and Redis are checked).
    for (let attempt = 0; attempt < 200 && status !== 200; attempt += 1) {
      status = (await fetch(`${url}${path}`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status, `${container.name} probe ${path}`).toBe(200);
  }
}

test('the entry point refuses to start while a Secret holds the example value, naming it', async () => {
  for (const [secret, variable, key] of [
    ['nimbus-bootstrap', 'NIMBUS_ADMIN_KEY', 'admin-key'],
    ['nimbus-bootstrap', 'NIMBUS_JOIN_TOKEN', 'join-token'],
    ['nimbus-external', 'NIMBUS_DATABASE_URL', 'NIMBUS_DATABASE_URL'],
  ] as const) {
    const example = baseGeneratorLiterals('secretGenerator', secret)[key]!;
    const process = startEntrypoint(['serve'], { [variable]: example });
    expect(await process.exited).toBe(64);
    expect(process.output()).toContain(`${variable} still holds the example value`);
  }
});

describe("the manifests' containers through the entry point", () => {
  let skip = false;
  let database: { url: string; drop(): Promise<void> } | undefined;
  const home = mkdtempSync(join(tmpdir(), 'nimbus-entrypoint-'));
  const sources: EnvironmentSources = {
    secrets: {},
    configMaps: {},
    fields: { 'status.podIP': '127.0.0.1', 'spec.nodeName': 'node-a', 'metadata.name': 'nimbus-control-plane-0' },
  };

  beforeAll(async () => {
    skip = skipWithoutSharedModel() || (await skipWithoutPostgres()) || (await skipWithoutRedis());
    if (skip) return;
    database = await createTestDatabase();
    sources.configMaps['nimbus-config'] = baseGeneratorLiterals('configMapGenerator', 'nimbus-config');
    // The formats the server requires of NIMBUS_ADMIN_KEY and NIMBUS_JOIN_TOKEN (issue 25).
    sources.secrets['nimbus-bootstrap'] = {
      'admin-key': `nmb_${randomBytes(32).toString('base64url')}`,
      'join-token': `nmj_${randomBytes(32).toString('base64url')}`,
    };
    // The devices bridge needs a broker with credentials (an anonymous one is refused): off here.
    sources.secrets['nimbus-external'] = { NIMBUS_DATABASE_URL: database.url, NIMBUS_REDIS_URL: redisUrl, NIMBUS_MQTT_URL: 'off' };
  });
  afterAll(async () => {
    killEntrypointProcesses();
    await database?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  test("the test gives every key the manifests' Secrets hold", () => {
    if (skip) return;
    for (const name of ['nimbus-bootstrap', 'nimbus-external'])
      expect(Object.keys(sources.secrets[name]!).sort()).toEqual(Object.keys(baseGeneratorLiterals('secretGenerator', name)).sort());
  });

  test('a control plane from the Deployment starts on PostgreSQL and Redis and passes its probes; a worker from the DaemonSet joins at its pod IP and serves', async (context) => {
    if (skip) return context.skip();
    const serverEnvironment: Record<string, string> = {
      ...containerEnvironment(controlPlane, sources),
      // Tests bind loopback; the Deployment's 0.0.0.0 and 8080 are the pod's own network.
      NIMBUS_HOST: '127.0.0.1',
      NIMBUS_PORT: '0',
      NIMBUS_HOME: join(home, 'control-plane'),
      NIMBUS_THREADS: '1',
      NIMBUS_GPU: 'cpu',
      NIMBUS_HF_ENDPOINT: 'http://127.0.0.1:9',
    };
    expect(serverEnvironment.NIMBUS_DATABASE_URL).toMatch(/^postgres:/);
    const server = startEntrypoint(controlPlane.args ?? [], serverEnvironment);
    const url = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await expectProbesPass(url, controlPlane);

    // The Secret's admin key and join token were stored at start (NIMBUS_ADMIN_KEY, NIMBUS_JOIN_TOKEN):
    // the admin calls below use the key, the worker joins with the token, as in the cluster.
    expect(server.output()).toMatch(/NIMBUS_ADMIN_KEY: stored operator key/);
    expect(server.output()).toMatch(/NIMBUS_JOIN_TOKEN: (stored|join token)/);
    const admin = { authorization: `Bearer ${sources.secrets['nimbus-bootstrap']!['admin-key']}`, 'content-type': 'application/json' };
    expect((await fetch(`${url}/v1/pool/workers`)).status).toBe(401);

    const workerEnvironment = containerEnvironment(worker, sources);
    // The manifests' join URL is the Service's DNS name; here the control plane is on loopback.
    workerEnvironment.NIMBUS_JOIN_URL = url;
    const args = (worker.args ?? []).map((arg) => expand(arg, workerEnvironment));
    args[args.indexOf('--port') + 1] = '0';
    args[args.indexOf('--home') + 1] = join(home, 'worker');
    expect(args.slice(0, 3)).toEqual(['worker', '--host', '127.0.0.1']);
    const agent = startEntrypoint(args, workerEnvironment);
    const workerUrl = (await agent.waitFor(/listening on (http:\/\/[\d.:]+), joined/))[1]!;
    expect(workerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expectProbesPass(workerUrl, worker);
    const listed = (await (await fetch(`${url}/v1/pool/workers`, { headers: admin })).json()) as {
      data: Array<{ name: string; endpoint: string; state: string }>;
    };
    expect(listed.data.find((entry) => entry.name === 'node-a')).toMatchObject({ endpoint: workerUrl });

    // The control plane reaches the worker at the address it advertised: a deployment serves through it.
    const deployed = await fetch(`${url}/v1/deployments`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ model: storiesPath, name: 'stories', device: 'cpu', context_size: 256, slots: 1 }),
    });
    expect(deployed.status, await deployed.clone().text()).toBeLessThan(300);
    let answer: Response | undefined;
    for (let attempt = 0; attempt < 600 && answer?.status !== 200; attempt += 1) {
      answer = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ model: 'stories', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 }),
      });
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answer?.status).toBe(200);
    expect(answer?.headers.get('x-nimbus-route') ?? '').toContain('node-a');

    await agent.stop();
    expect(await agent.exited).toBe(0);
    await server.stop();
    expect(await server.exited).toBe(0);
  }, 240_000);
});
