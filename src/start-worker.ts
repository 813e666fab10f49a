/**
 * The pool worker's composition: the llama engine behind the same OpenAI HTTP API as the control
 * plane, open only to the control plane's secret, and the agent that joins, beats and loads the
 * replicas assigned to it.
 */
import { timingSafeEqual } from 'node:crypto';
import { buildServer } from './api/server.js';
import { workerPaths } from './api/routes/pool.js';
import { NimbusError } from './core/errors.js';
import { ModelCatalog } from './core/model-catalog.js';
import { localPrincipal } from './core/principal.js';
import type { Store } from './core/store.js';
import { LlamaEngine, type GpuChoice } from './engines/llama/llama-engine.js';
import { openStore } from './store/open-store.js';
import { bearerToken } from './tenancy/api-key.js';
import { fetchAssignedModel } from './worker/fetch-model.js';
import { readHardware } from './worker/read-hardware.js';
import { WorkerAgent } from './worker/worker-agent.js';

/** The addresses of `--join` (comma-separated), without trailing slashes. */
export function controlPlaneAddresses(join: string): string[] {
  return join
    .split(',')
    .map((address) => address.trim().replace(/\/+$/, ''))
    .filter((address) => address !== '');
}

/** Paths that answer without the secret: health checks. */
const publicPaths = new Set(['/healthz', '/readyz', ...workerPaths]);

/** What `nimbus worker` runs with. */
export interface WorkerSettings {
  /** The control plane's base URL. */
  controlPlane: string;
  token: string;
  name: string;
  host: string;
  port: number;
  /** Where its model files and request log live. */
  home: string;
  gpu: GpuChoice;
  threads: number;
  maxQueue: number;
  /** MiB per replica of evicted slot states kept in RAM for prefix reuse (0: off). */
  promptCacheMiB: number;
  logLevel: string;
}

/** A running worker. */
export interface RunningWorker {
  name: string;
  /** Its OpenAI-compatible server (the control plane calls it with the worker's secret). */
  url: string;
  agent: WorkerAgent;
  shutdown(): Promise<void>;
}

/** Whether two secrets are equal, in constant time. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Starts a pool worker: the llama engine behind the same OpenAI HTTP API, open only to the
 * control plane's secret, and the agent that joins, beats and loads the replicas assigned to it.
 */
export async function startWorker(settings: WorkerSettings): Promise<RunningWorker> {
  const engine = new LlamaEngine(settings.gpu);
  const store = await openStore(undefined, settings.home);
  let generated = 0;
  const counted: Store = {
    recordRequest: (entry) => {
      generated += entry.completionTokens;
      store.recordRequest(entry);
    },
    flush: () => store.flush(),
    pruneLedger: (before) => store.pruneLedger(before),
    listRequests: (query) => store.listRequests(query),
    searchRequests: (search) => store.searchRequests(search),
    getRequest: (id) => store.getRequest(id),
    ping: () => store.ping(),
    devices: store.devices,
    tenancy: store.tenancy,
    pool: store.pool,
    knowledge: store.knowledge,
    responses: store.responses,
    batches: store.batches,
    apps: store.apps,
    alerts: store.alerts,
    close: () => store.close(),
  };
  // The agent is made once the server listens (it must report the bound address); the guard reads it then.
  const joined: { agent?: WorkerAgent } = {};
  const { app } = buildServer({
    catalog: new ModelCatalog([engine]),
    engines: [engine],
    store: counted,
    bodyLimit: 4 * 1024 * 1024,
    reportCompute: true,
    logLevel: settings.logLevel,
    resolvePrincipal: (request) => {
      if (publicPaths.has(request.routeOptions.url ?? '')) return localPrincipal;
      const given = bearerToken(request.headers.authorization);
      const expected = joined.agent?.inferenceSecret;
      if (!given || !expected || !sameSecret(given, expected)) {
        throw new NimbusError(
          'invalid_api_key',
          `This is pool worker '${settings.name}': it answers its control plane only. Send requests to the control plane.`,
        );
      }
      return localPrincipal;
    },
  });
  const address = await app.listen({ host: settings.host, port: settings.port });
  const url = address.replace('[::1]', 'localhost');
  const agent: WorkerAgent = new WorkerAgent({
    controlPlanes: controlPlaneAddresses(settings.controlPlane),
    token: settings.token,
    name: settings.name,
    endpoint: url,
    host: {
      addModel: (options) =>
        engine.addModel({ ...options, threads: settings.threads, maxQueue: settings.maxQueue, promptCacheBytes: settings.promptCacheMiB * 1024 * 1024 }),
      removeModel: (id) => engine.removeModel(id),
      models: () => engine.models(),
      load: () => engine.load(),
      heldPrefixes: (id) => engine.heldPrefixes(id),
      kvTokens: (id) => engine.kvTokens(id),
    },
    hardware: () => readHardware(() => engine.hardware()),
    // From the control plane it talks to now: each one serves the files of every deployment (decision 0011).
    fetchModel: (assignment, credential): Promise<string> => fetchAssignedModel(settings.home, agent.controlPlane, assignment, credential),
    takeGeneratedTokens: () => {
      const tokens = generated;
      generated = 0;
      return tokens;
    },
    memoryInUse: () => process.memoryUsage().rss,
    onError: (error) => app.log.warn(`pool: ${(error as Error).message}`),
    onChange: (message) => app.log.info(`pool: ${message}`),
  });
  joined.agent = agent;
  try {
    await agent.start();
  } catch (error) {
    await app.close();
    await store.close();
    throw error;
  }
  return {
    name: settings.name,
    url,
    agent,
    shutdown: async () => {
      // Leave first: the control plane stops routing here before this server closes.
      await agent.leave();
      await app.close();
      await engine.close();
      await store.close();
    },
  };
}
