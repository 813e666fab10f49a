/**
 * The composition root: the one place that picks implementations and wires them together.
 * Everything else receives its dependencies; nothing else constructs an engine or a store.
 */
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './api/server.js';
import type { ServerContext } from './api/server-context.js';
import type { ModelConfig, NimbusConfig } from './core/config.js';
import { ModelCatalog } from './core/model-catalog.js';
import type { Store } from './core/store.js';
import { LlamaEngine } from './engines/llama/llama-engine.js';
import { ModelCache } from './models/model-cache.js';
import { parseModelRef } from './models/model-ref.js';
import { openStore } from './store/open-store.js';

/** A running Nimbus server. */
export interface RunningNimbus {
  app: FastifyInstance;
  context: ServerContext;
  engine: LlamaEngine;
  store: Store;
  /** `http://host:port` actually bound (port 0 resolves to the real port). */
  url: string;
  /** Resolves when every configured model has loaded or failed. */
  modelsSettled: Promise<void>;
  /** Stops accepting, lets requests finish up to `graceMs`, then frees everything. */
  shutdown(graceMs?: number): Promise<{ finished: boolean }>;
}

/** The name clients use for a model: its configured id, else the file name without `.gguf`. */
export function modelId(model: ModelConfig): string {
  if (model.id) return model.id;
  const ref = parseModelRef(model.source);
  const file = ref.kind === 'hf' ? ref.file : ref.path;
  return basename(file).replace(/\.gguf$/i, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Starts the server: it listens at once and loads models in the background (see /readyz). */
export async function startNimbus(config: NimbusConfig): Promise<RunningNimbus> {
  const store = await openStore(config.databaseUrl, config.home);
  const engine = new LlamaEngine(config.gpu);
  const catalog = new ModelCatalog([engine]);
  const { app, context } = buildServer({ catalog, engines: [engine], store, bodyLimit: config.bodyLimit, logLevel: config.logLevel });
  const cache = new ModelCache({ home: config.home, endpoint: config.hfEndpoint });
  const log = app.log;

  const configured = config.models.length > 0 ? config.models : [{ source: config.defaultModel }];
  const usingDefault = config.models.length === 0;
  const modelsSettled = Promise.all(
    configured.map(async (model) => {
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
        if (usingDefault) {
          catalog.setNoModelAdvice({
            reason: `The default model could not be downloaded (${reason}).`,
            command: `nimbus pull ${config.defaultModel} (then restart), or nimbus serve --model /path/to/model.gguf`,
          });
        } else engine.addFailedModel(id, reason);
        return;
      }
      await engine.addModel({
        id,
        path,
        contextSize: model.contextSize ?? config.contextSize,
        slots: model.slots ?? config.slots,
        threads: model.threads ?? config.threads,
        gpuLayers: model.gpuLayers ?? 'auto',
        maxQueue: config.maxQueue,
      });
      const status = engine.models().find((candidate) => candidate.id === id);
      if (status?.state === 'ready') log.info({ model: id, contextLength: status.contextLength }, 'model ready');
      else log.error({ model: id }, status?.error ?? 'model failed to load');
    }),
  ).then(() => undefined);

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');
  log.info(
    `Nimbus listening on ${url}${isLoopback(config.host) ? ' (loopback only)' : ' (WARNING: reachable from the network, and API keys are not enforced yet)'}`,
  );

  let shuttingDown: Promise<{ finished: boolean }> | undefined;
  const shutdown = (graceMs = config.shutdownGraceMs): Promise<{ finished: boolean }> => {
    shuttingDown ??= (async () => {
      const drained = context.lifecycle.drain(graceMs);
      const closed = app.close();
      const result = await drained;
      await closed;
      await engine.close();
      await store.close();
      return result;
    })();
    return shuttingDown;
  };
  return { app, context, engine, store, url, modelsSettled, shutdown };
}
