/**
 * The pool's side of the composition root: the engine that serves pool deployments, the machines
 * that joined (the one placement backend today), leadership among several control planes, and the
 * runtime that reconciles and autoscales. `main.ts` wires the rest around it.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { routingKeys } from './cluster/routing/routing-keys.js';
import { systemClock } from './core/clock.js';
import type { NimbusConfig } from './core/config.js';
import type { LiveEvent } from './core/live-events.js';
import type { Store } from './core/store.js';
import { OpenAIEngine } from './engines/openai/openai-engine.js';
import { PoolEngine } from './engines/pool/pool-engine.js';
import type { ModelCache } from './models/model-cache.js';
import { JoinedWorkerPool } from './pool/joined/joined-worker-pool.js';
import { LeaderElection } from './pool/leader-election.js';
import { PoolRuntime } from './pool/pool-runtime.js';
import { StoreDemandShare } from './pool/shared-demand.js';
import { deploymentLiveEvent } from './api/deployment-events.js';

export interface PoolParts {
  poolEngine: PoolEngine;
  pool: PoolRuntime;
  /** Leadership through the pool lease; undefined on SQLite (one control plane). */
  election: LeaderElection | undefined;
  /** This process's name among control planes (live events it sends carry it). */
  controlPlaneName: string;
}

export interface PoolWiring {
  config: NimbusConfig;
  store: Store;
  /** Whether this store is SQLite: then this process is the only control plane. */
  sqlite: boolean;
  cache: ModelCache;
  /** The server's logger, once it exists (the pool is built before the server). */
  log: () => FastifyBaseLogger;
  /** Publishes a live event (a deployment changed), once the server exists. */
  publish: (event: LiveEvent) => void;
}

export function buildPool({ config, store, sqlite, cache, log, publish }: PoolWiring): PoolParts {
  const poolEngine: PoolEngine = new PoolEngine({
    routingKeys: (request) => routingKeys(request, undefined, config.routing.prefixBlockChars),
    // Requests for a deployment that autoscales wait for its first replica (the runtime is made just below).
    replicaWait: { holds: (model): boolean => pool.holds(model), wait: (model, signal): Promise<void> => pool.waitForReplica(model, signal) },
    // A request on a worker silent for two heartbeats, with no event for as long, goes on elsewhere.
    stallMs: 2 * config.poolHeartbeatMs,
    onAbandon: (replica, requests, reason) =>
      log().warn({ replica, requests }, `pool: ${requests} request(s) moved off ${replica} to go on elsewhere: ${reason}`),
  });
  // Where replicas run: the machines that joined this pool (the one placement backend today).
  const joined = new JoinedWorkerPool({
    store: store.pool,
    resolveModel: (source) => cache.ensure(source),
    clock: systemClock,
    heartbeat: { intervalMs: config.poolHeartbeatMs },
  });
  // Several control planes share PostgreSQL: one leads reconcile and autoscale through the pool lease. SQLite has one.
  const controlPlaneName = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const election = sqlite
    ? undefined
    : new LeaderElection({
        store: store.pool,
        holder: controlPlaneName,
        heartbeatMs: config.poolHeartbeatMs,
        onError: (error) => log().warn({ err: error }, 'pool: reading the pool lease failed; this control plane stops leading if its lease runs out'),
        onChange: (leading, lease) =>
          leading
            ? log().info({ generation: lease?.generation }, `pool: this control plane leads the pool (lease generation ${lease?.generation})`)
            : log().info('pool: this control plane follows; another leads the pool'),
      });
  const pool: PoolRuntime = new PoolRuntime({
    store: store.pool,
    // Requests held or in flight through any control plane count: each reports its own in the store.
    ...(election ? { leadership: election, demand: new StoreDemandShare({ store: store.pool, controlPlane: controlPlaneName }) } : {}),
    serving: poolEngine,
    provisioner: joined,
    workers: joined.members,
    replicaEngine: (replica) => workerReplicaEngine(config, replica.host, replica.endpoint.url, replica.endpoint.secret, replica.deployment),
    clock: systemClock,
    reconcileIntervalMs: config.poolHeartbeatMs,
    prefixBlockChars: config.routing.prefixBlockChars,
    workerCacheReports: config.routing.workerCacheReports,
    onError: (error) => log().error({ err: error }, 'pool reconciliation failed; retrying at the next interval'),
    onScale: (deployment, event) => log().info({ deployment, from: event.from, to: event.to }, `pool: ${deployment} scaled: ${event.reason}`),
    onHost: (worker, state, detail) =>
      state === 'lost' ? log().warn({ worker }, `pool: worker ${worker} lost: ${detail}`) : log().info({ worker }, `pool: worker ${worker} is back: ${detail}`),
    onDeployment: (name, change) => publish(deploymentLiveEvent(name, change, controlPlaneName)),
  });
  return { poolEngine, pool, election, controlPlaneName };
}

/**
 * The engine that reaches one replica on a worker: an OpenAI engine at the worker's endpoint,
 * presenting the worker's inference secret (a worker serves a deployment under its own name). One try only: the
 * pool engine moves on to the next replica itself.
 */
function workerReplicaEngine(config: NimbusConfig, worker: string, endpoint: string, secret: string, deployment: string): OpenAIEngine {
  return new OpenAIEngine({
    providers: [
      {
        id: worker,
        baseUrl: `${endpoint}/v1`,
        apiKeyEnv: 'NIMBUS_WORKER_SECRET',
        headers: {},
        connectTimeoutMs: 2_000,
        firstTokenTimeoutMs: 60_000,
        idleTimeoutMs: 30_000,
        requestTimeoutMs: 600_000,
        maxConnections: 64,
        // A worker is Nimbus: it applies its own providers' forwardFields to what it gets.
        forwardFields: ['*'],
        maxTokensField: 'max_tokens',
      },
    ],
    models: [{ id: deployment, provider: worker }],
    retry: { ...config.retry, maxAttempts: 1 },
    breaker: config.breaker,
    environment: { NIMBUS_WORKER_SECRET: secret },
    // The pool engine continues a stream on another replica when a worker is lost mid-answer: it must know the text.
    parseStreams: true,
  });
}
