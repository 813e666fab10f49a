/**
 * The composition root: the one place that picks implementations and wires them together.
 * Everything else receives its dependencies; nothing else constructs an engine or a store.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkLocalHost } from './api/local-host.js';
import { installDevices } from './api/install-devices.js';
import { consoleRoutes, isApiPath } from './api/routes/console.js';
import { installApps } from './api/install-apps.js';
import { installKnowledge } from './api/install-knowledge.js';
import { buildServer } from './api/server.js';
import type { ServerContext } from './api/server-context.js';
import { modelRouting } from './cluster/routing/model-routing.js';
import { systemClock } from './core/clock.js';
import type { NimbusConfig } from './core/config.js';
import { ModelCatalog } from './core/model-catalog.js';
import type { Store } from './core/store.js';
import type { RunningDevices } from './devices/start-devices.js';
import { LlamaEngine } from './engines/llama/llama-engine.js';
import { OpenAIEngine } from './engines/openai/openai-engine.js';
import { changedElsewhere } from './api/deployment-events.js';
import type { PoolEngine } from './engines/pool/pool-engine.js';
import type { PoolRuntime } from './pool/pool-runtime.js';
import type { Principal } from './core/principal.js';
import { workerPaths } from './api/routes/pool.js';
import { billedChunkEmbedder } from './knowledge/chunk-embedder.js';
import { startKnowledge } from './knowledge/start-knowledge.js';
import { ModelCache } from './models/model-cache.js';
import { ModelPulls } from './models/model-pulls.js';
import { startModels } from './start-models.js';
import { buildPool } from './start-pool.js';
import { installResponses, nimbusVersion } from './install-responses.js';
import { openDevices, openEventRelay, openLimitCounters, type CounterReports } from './open-services.js';
import { bootstrapSecrets, type BootstrapReport } from './bootstrap-secrets.js';
import { modelIdOrSource } from './models/model-id.js';
import { startAlerts } from './start-alerts.js';
import { openStore, sqlitePathOf } from './store/open-store.js';
import { lockControlPlane } from './store/sqlite/control-plane-lock.js';
import { RedisLimitCounters } from './store/redis/redis-limit-counters.js';
import { KeyResolver } from './tenancy/key-resolver.js';
import { ledgerSpendOf } from './tenancy/seed-spend.js';
import { LimitsGate } from './tenancy/usage-gate.js';

/** What a started server knows about itself, for the banner. */
export interface StartUpFacts {
  url: string;
  /** Who can reach it. */
  exposure: string;
  /** False when console/dist is missing (the console then says to build it). */
  consoleBuilt: boolean;
  /** Models this process loads (downloading first where not cached). */
  localModels: string[];
  /** The default model's reference when no model is configured (it is then `localModels`' one). */
  defaultModel: string | undefined;
  /** Models served by OpenAI-compatible upstreams. */
  upstreamModels: string[];
  /** Pool deployments, served by workers. */
  deployments: string[];
  /** The MQTT broker devices use, or why devices are off. */
  devices: { broker: string } | { off: string };
}

/** A running Nimbus server. */
export interface RunningNimbus {
  app: FastifyInstance;
  context: ServerContext;
  engine: LlamaEngine;
  /** The OpenAI-compatible upstreams (replica health for tests and the console). */
  upstream: OpenAIEngine;
  /** Pool deployments, served from replicas on workers. */
  pool: PoolRuntime;
  /** The engine serving pool deployments (the engine contract runs on it). */
  poolEngine: PoolEngine;
  store: Store;
  /** Device support (MQTT broker, twins, tools); undefined when off. */
  devices: RunningDevices | undefined;
  /** `http://host:port` actually bound (port 0 resolves to the real port). */
  url: string;
  /** Who can reach it, in words for the start-up line. */
  exposure: string;
  /** What it serves and what is off, for the start-up banner. */
  facts: StartUpFacts;
  /** Resolves when every configured model has loaded or failed. */
  modelsSettled: Promise<void>;
  /** Stops accepting, lets requests finish up to `graceMs`, then frees everything. */
  shutdown(graceMs?: number): Promise<{ finished: boolean }>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** `defaultMaxTokens` of the models configured with one (local and upstream), by the name clients use. */
function modelMaxTokens(config: NimbusConfig): Record<string, number> {
  const caps: Record<string, number> = {};
  for (const model of config.models) if (model.defaultMaxTokens !== undefined) caps[modelIdOrSource(model)] = model.defaultMaxTokens;
  for (const model of config.upstreamModels) if (model.defaultMaxTokens !== undefined) caps[model.id] = model.defaultMaxTokens;
  return caps;
}

/** Paths that answer without a key: health checks, the worker protocol (it has its own credentials) and the console's files (they reveal nothing a key guards). */
const publicPaths = new Set(['/healthz', '/readyz', ...workerPaths]);

/** Whether a request needs no key: the console's page is public, the API behind it is not. */
function isPublic(routeUrl: string | undefined, url: string): boolean {
  if (routeUrl === undefined) return false;
  return publicPaths.has(routeUrl) || (consoleRoutes.includes(routeUrl) && !isApiPath(url));
}

/** The built web console (`npm run build` writes it), next to dist/ or src/. */
const consoleDirectory = fileURLToPath(new URL('../console/dist/', import.meta.url));

/**
 * Starts the server: it listens at once and loads models in the background (see /readyz).
 * `environment` is where upstream API keys are read from (`apiKeyEnv` of each provider).
 */
export async function startNimbus(config: NimbusConfig, environment: Readonly<Record<string, string | undefined>> = process.env): Promise<RunningNimbus> {
  // First, as it may refuse the config (an API key variable that is not set).
  const upstream = new OpenAIEngine({
    providers: config.providers,
    models: config.upstreamModels,
    retry: config.retry,
    breaker: config.breaker,
    environment,
    ...modelRouting({
      models: config.upstreamModels.map((model) => ({
        ...model,
        cachesPrefixes: config.providers.find((provider) => provider.id === model.provider)?.cachesPrefixes,
      })),
      prefixBlockChars: config.routing.prefixBlockChars,
      fallback: 'round-robin',
    }),
  });
  // One control plane per SQLite database (several share PostgreSQL): refused before anything is opened.
  const sqlitePath = sqlitePathOf(config.databaseUrl, config.home);
  const lock = sqlitePath !== undefined && sqlitePath !== ':memory:' ? lockControlPlane(sqlitePath) : undefined;
  let store: Store;
  try {
    store = await openStore(config.databaseUrl, config.home);
  } catch (error) {
    lock?.release();
    throw error;
  }
  // An admin key and a join token from the environment are stored (hashed) before anything checks for keys.
  let bootstrap: BootstrapReport;
  try {
    bootstrap = await bootstrapSecrets(store, environment, Date.now());
  } catch (error) {
    await store.close();
    lock?.release();
    throw error;
  }
  const localModeAllowed = isLoopback(config.host);
  const keysExist = (await store.tenancy.countApiKeys()) > 0;
  if (!localModeAllowed && !keysExist) {
    await store.close();
    lock?.release();
    throw new Error(
      `Refusing to start on ${config.host}: it is reachable from the network and no API key exists yet, so anyone could use this server. ` +
        `Start once on 127.0.0.1, create an admin key with 'nimbus keys create --admin --name operator', then start on ${config.host} again.`,
    );
  }
  const counterReports: CounterReports = { log: undefined };
  const counters = await openLimitCounters(config.redisUrl, await store.tenancy.installationId(), counterReports);
  // What a load balancer's readiness probe waits on: the store and Redis, never the models (health.ts).
  const readiness = [{ name: 'store', check: () => store.ping() }];
  if (counters instanceof RedisLimitCounters) readiness.push({ name: 'redis', check: () => counters.ping() });
  const resolver = new KeyResolver({ store: store.tenancy, clock: systemClock, localModeAllowed, cacheMs: config.tenancy.authCacheMs });
  const gate = new LimitsGate({
    counters,
    clock: systemClock,
    prices: { models: config.prices, computePerHour: config.computePrices },
    limitsOf: resolver.limitsOf,
    onChange: (change) => resolver.forget(change),
    // A budget counter starts from today's and this month's spend in the ledger, not from zero.
    spendOf: ledgerSpendOf(store.tenancy),
    defaultMaxTokens: config.tenancy.defaultMaxTokens,
    modelMaxTokens: modelMaxTokens(config),
    reserveSecondsPerToken: config.tenancy.reserveSecondsPerToken,
    leaseMs: config.tenancy.concurrencyLeaseMs,
    onSettleError: (error) => onSettleError(error),
    loadTenant: (tenantId) => resolver.loadTenant(tenantId),
  });
  const allowedHosts = new Set(config.allowedHosts.map((name) => name.toLowerCase()));
  const hostGuard = (request: FastifyRequest, principal: Principal): Principal => {
    if (principal.local) checkLocalHost(request.headers.host, request.raw.socket.localPort, allowedHosts);
    return principal;
  };
  const engine = new LlamaEngine(config.gpu);
  const cache = new ModelCache({ home: config.home, endpoint: config.hfEndpoint });
  const { poolEngine, pool, election, controlPlaneName } = buildPool({
    config,
    store,
    sqlite: sqlitePath !== undefined,
    cache,
    log: () => log,
    publish: (event) => context.events.publish(event),
  });
  const engines = [engine, upstream, poolEngine];
  const catalog = new ModelCatalog(engines, {
    aliases: config.aliases,
    fallbacks: config.fallbacks,
    // With several control planes, a deployment made through another one moments ago is read from the store on a miss.
    ...(election
      ? {
          lateModels: (model: string): Promise<boolean> =>
            pool.learn(model).catch((error: unknown) => {
              log.warn({ err: error, model }, 'pool: reading a deployment unknown here from the store failed');
              return false;
            }),
        }
      : {}),
  });
  // A server that only fronts upstreams or a pool downloads nothing.
  const usingDefault = config.models.length === 0 && config.upstreamModels.length === 0 && (await store.pool.listDeployments()).length === 0;
  const configured = usingDefault ? [{ source: config.defaultModel }] : config.models;
  // The files configured models use; a model first pulled while the server runs joins them.
  const inUse = configured.map((model) => ({ id: modelIdOrSource(model), source: model.source }));
  const pulls = new ModelPulls({ cache, sizeOf: async (path) => (await stat(path)).size });
  const { app, context } = buildServer({
    catalog,
    engines,
    store,
    bodyLimit: config.bodyLimit,
    logLevel: config.logLevel,
    gate,
    resolvePrincipal: (request) => {
      const principal = resolver.resolve(request.headers.authorization, isPublic(request.routeOptions.url, request.url));
      // Local mode answers to loopback names only: a page that rebinds its own name to 127.0.0.1 gets a 403.
      return principal instanceof Promise ? principal.then((resolved) => hostGuard(request, resolved)) : hostGuard(request, principal);
    },
    pool,
    modelFiles: { cache, pulls, configured: inUse },
    consoleDirectory,
    readiness,
  });
  const knowledge = startKnowledge({
    store: store.knowledge,
    home: config.home,
    limits: config.knowledge,
    clock: systemClock,
    embedder: config.knowledge.embeddingModel === undefined ? undefined : billedChunkEmbedder(context.accounting, catalog, config.knowledge.embeddingModel),
    rerankerFor: (model) => billedChunkEmbedder(context.accounting, catalog, model),
    onError: (error) => app.log.error({ err: error }, 'knowledge: a sweep or an ingest failed outside a request'),
  });
  installKnowledge(app, knowledge);
  installApps(app, context, knowledge);
  const { responses, batches } = installResponses(app, context, { config, store, sqlite: sqlitePath !== undefined, knowledge, resolver });
  const { devices, off: devicesOff } = await openDevices(config, store, app.log);
  if (devices) installDevices(app, context, devices, nimbusVersion);
  const onSettleError = (error: unknown): void => app.log.error({ err: error }, 'limit counters could not be updated; a reservation stays counted');
  const log = app.log;
  counterReports.log = log;
  for (const line of bootstrap.lines) log.info(line);
  const stopRelay = await openEventRelay(config.databaseUrl, context.events, controlPlaneName, log);
  // A deployment made through another control plane: read the store now rather than at the next reconcile.
  context.events.subscribe((event) => {
    if (changedElsewhere(event, controlPlaneName)) pool.changedElsewhere();
  });
  await election?.start();
  await pool.start();
  // Alerts are evaluated by whichever control plane leads the pool, at its heartbeat.
  const alerts = startAlerts({
    store,
    pool,
    gate,
    events: context.events,
    leading: () => election?.leading() ?? true,
    intervalMs: config.poolHeartbeatMs,
    log,
  });
  // Ingest a stopped process left in progress starts again (each file whole, or failed with its reason).
  await knowledge.resume();
  // Raw ledger rows past the retention go every hour; their hourly sums stay.
  const pruneLedger = (): void => {
    if (config.ledgerRetentionDays === 0) return;
    store
      .pruneLedger(Date.now() - config.ledgerRetentionDays * 86_400_000)
      .then((removed) => removed > 0 && log.info({ removed, retentionDays: config.ledgerRetentionDays }, 'ledger rows past the retention removed'))
      .catch((error: unknown) => log.error({ err: error }, 'pruning the ledger failed; it is tried again in an hour'));
  };
  pruneLedger();
  const pruning = setInterval(pruneLedger, 3_600_000);
  pruning.unref();
  // Stored responses past their retention go every minute (they are hidden from reads at once).
  const sweepResponses = setInterval(() => {
    responses.sweep().catch((error: unknown) => log.error({ err: error }, 'sweeping expired responses failed; it is tried again in a minute'));
  }, 60_000);
  sweepResponses.unref();

  const models = startModels({
    config,
    engine,
    catalog,
    cache,
    pulls,
    configured,
    usingDefault,
    inUse,
    hasDeployments: async () => (await store.pool.listDeployments()).length > 0,
    log,
  });
  const modelsSettled = models.settled;
  // Batch lines run once the models are loaded (before, every line would fail with model_not_ready).
  void modelsSettled.then(() => batches.start()).catch((error: unknown) => log.error({ err: error }, 'batches could not start'));

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  const exposure = !localModeAllowed
    ? 'reachable from the network; API keys required'
    : keysExist
      ? 'loopback only; API keys required'
      : "loopback only; local mode: no API key exists yet, so requests need none until one is created with 'nimbus keys create'";
  log.info({ url, exposure }, 'listening');

  let shuttingDown: Promise<{ finished: boolean }> | undefined;
  const shutdown = (graceMs = config.shutdownGraceMs): Promise<{ finished: boolean }> => {
    shuttingDown ??= (async () => {
      // Requests held for a replica get their 503 now rather than holding up the drain.
      pool.releaseHeld();
      models.stop();
      clearInterval(pruning);
      clearInterval(sweepResponses);
      await knowledge.stop();
      // Batch lines running get the same grace as requests; those cut run again at the next start.
      const batchesStopped = batches.stop(graceMs);
      const drained = context.lifecycle.drain(graceMs);
      const closed = app.close();
      const result = await drained;
      await batchesStopped;
      await closed;
      await devices?.close();
      await alerts.stop();
      await stopRelay();
      // Released first, so a peer leads at its next look rather than after the lease runs out.
      await election?.stop();
      await pool.stop();
      await poolEngine.close();
      await engine.close();
      await upstream.close();
      await store.close();
      await counters.close();
      lock?.release();
      return result;
    })();
    return shuttingDown;
  };
  const facts: StartUpFacts = {
    url,
    exposure,
    consoleBuilt: existsSync(`${consoleDirectory}index.html`),
    localModels: configured.map((model) => modelIdOrSource(model)),
    defaultModel: usingDefault ? config.defaultModel : undefined,
    upstreamModels: config.upstreamModels.map((model) => model.id),
    deployments: (await store.pool.listDeployments()).map((deployment) => deployment.name),
    devices: devices ? { broker: devices.broker.url } : { off: devicesOff ?? 'off' },
  };
  return { app, context, engine, upstream, pool, poolEngine, store, devices, url, exposure, facts, modelsSettled, shutdown };
}

export { startWorker, type RunningWorker, type WorkerSettings } from './start-worker.js';
