/**
 * Loads the models the server was configured with (the default model when none is), in the
 * background so the server listens at once. A server left with no model (offline with no model
 * configured) serves the first model pulled while it runs, without a restart.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ModelConfig, NimbusConfig } from './core/config.js';
import type { ModelCatalog } from './core/model-catalog.js';
import type { LlamaEngine } from './engines/llama/llama-engine.js';
import { FirstPulledModel } from './models/first-pulled-model.js';
import type { ModelCache } from './models/model-cache.js';
import type { ModelPulls } from './models/model-pulls.js';
import { modelId } from './models/model-id.js';

/** What loading needs: the engine, the catalog it reports to, the cache and the pulls. */
export interface StartModelsOptions {
  config: NimbusConfig;
  engine: LlamaEngine;
  catalog: ModelCatalog;
  cache: ModelCache;
  pulls: ModelPulls;
  /** The models to load; empty when the server only fronts upstreams or a pool. */
  configured: ModelConfig[];
  /** True when nothing was configured and `configured` is the default model. */
  usingDefault: boolean;
  /** The files in use by configured models (`/v1/model-files`): a first pulled model joins them. */
  inUse: Array<{ id: string; source: string }>;
  /** Whether the pool has deployments (a model pulled for one is not loaded here). */
  hasDeployments: () => Promise<boolean>;
  log: FastifyBaseLogger;
  /** Milliseconds between two looks at the cache while waiting for a first model. */
  pollMs?: number;
}

/** Models loading in the background. */
export interface StartedModels {
  /** Resolves when every configured model has loaded or failed. */
  settled: Promise<void>;
  /** Stops waiting for a first pulled model (shutdown). */
  stop(): void;
}

/** Starts loading; see the module comment. */
export function startModels(options: StartModelsOptions): StartedModels {
  const { config, engine, catalog, cache, usingDefault, log } = options;
  const load = async (model: ModelConfig, path: string): Promise<void> => {
    const id = modelId(model);
    await engine.addModel({
      id,
      path,
      contextSize: model.contextSize ?? config.contextSize,
      slots: model.slots ?? config.slots,
      spareSlots: model.spareSlots ?? config.spareSlots,
      threads: model.threads ?? config.threads,
      gpuLayers: model.gpuLayers ?? 'auto',
      maxQueue: config.maxQueue,
      promptCacheBytes: (model.promptCacheMiB ?? config.promptCacheMiB) * 1024 * 1024,
    });
    const status = engine.models().find((candidate) => candidate.id === id);
    if (status?.state === 'ready') {
      // Spare slots cost KV memory whether batches run or not: said at load, not left to be found.
      const spare = engine.loadedModel(id)?.spareSlotBytes ?? 0;
      log.info(
        { model: id, contextLength: status.contextLength, spareSlots: model.spareSlots ?? config.spareSlots, spareSlotMiB: Math.round(spare / 2 ** 20) },
        'model ready',
      );
    } else log.error({ model: id }, status?.error ?? 'model failed to load');
  };

  const pullCommand = `nimbus pull ${config.defaultModel}`;
  const firstPull = new FirstPulledModel({
    cache,
    pulls: options.pulls,
    pollMs: options.pollMs,
    stillWanted: async () => catalog.ready().length === 0 && !(await options.hasDeployments()),
    onFound: async ({ ref, path }) => {
      const model = { source: ref };
      log.info({ model: modelId(model), ref }, 'first model pulled: serving it without a restart');
      options.inUse.push({ id: modelId(model), source: ref });
      catalog.setNoModelAdvice({ reason: `Loading ${modelId(model)}, pulled while the server ran.`, command: pullCommand, pending: true });
      await load(model, path);
      catalog.setNoModelAdvice(undefined);
    },
    onError: (error) => log.warn({ err: error }, 'waiting for a first pulled model: the model cache could not be read, or the model could not be served'),
  });

  if (usingDefault)
    catalog.setNoModelAdvice({ reason: `Downloading the default model ${config.defaultModel} (no model is configured).`, command: pullCommand, pending: true });
  const settled = Promise.all(
    options.configured.map(async (model) => {
      const id = modelId(model);
      let path: string;
      try {
        let lastLogged = 0;
        path = await cache.ensure(model.source, {
          ...(model.sha256 ? { sha256: model.sha256 } : {}),
          onProgress: (progress: { received: number; total?: number }) => {
            const now = Date.now();
            if (now - lastLogged < 2000) return;
            lastLogged = now;
            log.info({ model: id, received: progress.received, total: progress.total }, 'downloading model');
          },
        });
      } catch (error) {
        const reason = (error as Error).message;
        log.warn({ model: id }, `model unavailable: ${reason}`);
        if (!usingDefault) {
          engine.addFailedModel(id, reason);
          return;
        }
        const fix = reason.includes(pullCommand) ? '' : ` Add a model with: ${pullCommand}.`;
        catalog.setNoModelAdvice({
          reason:
            `No model is configured, and the default model could not be fetched: ${reason}${fix} The first model pulled while the server runs ` +
            `('nimbus pull hf:OWNER/REPO/FILE.gguf' with the same --home, or the console's Models page) is served without a restart.`,
          command: pullCommand,
        });
        await firstPull.start();
        return;
      }
      await load(model, path);
      if (usingDefault) catalog.setNoModelAdvice(undefined);
    }),
  ).then(() => {
    for (const problem of catalog.routingProblems()) log.warn(`routing: ${problem}`);
  });
  return { settled, stop: () => firstPull.stop() };
}
