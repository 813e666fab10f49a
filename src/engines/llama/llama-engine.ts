/**
 * The in-process llama.cpp engine (node-llama-cpp): CUDA, Vulkan or Metal where present, the
 * CPU otherwise. Serves any number of loaded models, each with its own slots and queue.
 */
import type { Llama } from 'node-llama-cpp';
import type { EmbeddingRequest, EmbeddingResult, Engine, EngineCall, EngineLoad, GenerationEvent, ModelStatus } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { HeldPrefixReport } from './held-prefixes.js';
import { LoadedModel, type LoadOptions } from './loaded-model.js';

/** Which accelerator to use: `auto` detects, `cpu` forces the CPU. */
export type GpuChoice = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';

interface Entry {
  status: ModelStatus;
  loaded?: LoadedModel;
  loading?: Promise<void>;
}

/** Facts about the machine the engine runs on, for /readyz, logs and the worker's report. */
export interface LlamaHardware {
  gpu: string | false;
  gpuDevices: string[];
  vram?: { total: number; free: number };
}

export class LlamaEngine implements Engine {
  readonly kind = 'llama';
  private llama: Promise<Llama> | undefined;
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly gpu: GpuChoice = 'auto') {}

  /** The llama.cpp binding, loaded once (detecting the GPU takes a moment). */
  binding(): Promise<Llama> {
    // Imported on first use: node-llama-cpp costs half a second of start-up, and a server
    // whose model is still downloading should be listening already.
    this.llama ??= import('node-llama-cpp').then(({ getLlama }) =>
      getLlama({ gpu: this.gpu === 'cpu' ? false : this.gpu, build: 'never', logLevel: 'error' as never }),
    );
    return this.llama;
  }

  /** What accelerator the binding found. */
  async hardware(): Promise<LlamaHardware> {
    const llama = await this.binding();
    if (!llama.gpu) return { gpu: false, gpuDevices: [] };
    const vram = await llama.getVramState();
    return { gpu: llama.gpu, gpuDevices: await llama.getGpuDeviceNames(), vram: { total: vram.total, free: vram.free } };
  }

  /** Starts loading a model; `models()` reports it as loading, then ready or failed. */
  addModel(options: LoadOptions): Promise<void> {
    if (this.entries.has(options.id)) throw new Error(`A model with id '${options.id}' is already served.`);
    const entry: Entry = {
      status: { id: options.id, engine: this.kind, state: 'loading', created: Math.floor(Date.now() / 1000), servedBy: [options.path] },
    };
    this.entries.set(options.id, entry);
    entry.loading = (async () => {
      try {
        const loaded = await LoadedModel.load(await this.binding(), options);
        if (this.closed) {
          await loaded.close();
          return;
        }
        entry.loaded = loaded;
        entry.status = { ...entry.status, state: 'ready', contextLength: loaded.contextSize, embeddingLength: loaded.embeddingLength };
      } catch (error) {
        entry.status = { ...entry.status, state: 'failed', error: `Could not load '${options.path}': ${(error as Error).message}` };
      }
    })();
    return entry.loading;
  }

  /** Stops serving a model and frees it once its running requests end (a worker's replica that moved). */
  async removeModel(id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    await entry.loading?.catch(() => undefined);
    await entry.loaded?.close();
    return true;
  }

  /** Marks a model that could not even be fetched (offline, bad reference) as failed. */
  addFailedModel(id: string, reason: string): void {
    this.entries.set(id, { status: { id, engine: this.kind, state: 'failed', error: reason, created: Math.floor(Date.now() / 1000) } });
  }

  models(): ModelStatus[] {
    return [...this.entries.values()].map((entry) => entry.status);
  }

  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return this.ready(request.model).chat(request, call);
  }

  complete(request: CompletionRequest & { prompt: string }, call: EngineCall): AsyncIterable<GenerationEvent> {
    return this.ready(request.model).complete(request, call);
  }

  embed(request: EmbeddingRequest, call: EngineCall): Promise<EmbeddingResult> {
    return this.ready(request.model).embed(request.input, call);
  }

  countTokens(model: string, text: string): number | undefined {
    return this.entries.get(model)?.loaded?.countTokens(text);
  }

  load(): EngineLoad {
    let active = 0;
    let queued = 0;
    let batchYields = 0;
    let batchResumes = 0;
    let spareTakes = 0;
    for (const entry of this.entries.values()) {
      active += entry.loaded?.active ?? 0;
      queued += entry.loaded?.queued ?? 0;
      batchYields += entry.loaded?.yields ?? 0;
      batchResumes += entry.loaded?.resumes ?? 0;
      spareTakes += entry.loaded?.spareTakes ?? 0;
    }
    return { active, queued, batchYields, batchResumes, spareTakes };
  }

  /** The prefix keys a ready model's caches hold (a worker's heartbeat carries them); undefined before it is ready. */
  heldPrefixes(id: string, limit?: number): HeldPrefixReport | undefined {
    return this.entries.get(id)?.loaded?.heldPrefixes(limit);
  }

  /** A ready model's KV memory in tokens, slots and prompt cache together (`LoadedModel.kvTokens`); undefined before it is ready or while unknown. */
  kvTokens(id: string): number | undefined {
    return this.entries.get(id)?.loaded?.kvTokens;
  }

  /** The loaded model behind a ready id (for tests and benchmarks that compare with the library). */
  loadedModel(id: string): LoadedModel | undefined {
    return this.entries.get(id)?.loaded;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.entries.values()];
    await Promise.all(entries.map((entry) => entry.loading?.catch(() => undefined) ?? Promise.resolve()));
    await Promise.all(entries.map((entry) => entry.loaded?.close() ?? Promise.resolve()));
    if (this.llama) await (await this.llama).dispose();
  }

  private ready(id: string): LoadedModel {
    const entry = this.entries.get(id);
    if (!entry)
      throw new NimbusError('model_not_found', `The model '${id}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
    if (entry.loaded) return entry.loaded;
    if (entry.status.state === 'loading')
      throw new NimbusError('model_not_ready', `The model '${id}' is still loading; retry in a few seconds.`, { headers: { 'retry-after': '2' } });
    throw new NimbusError('model_not_ready', `The model '${id}' failed to load: ${entry.status.error ?? 'unknown reason'}`);
  }
}
