/**
 * The model catalog: which engine serves a model name. The HTTP layer asks it for an engine and
 * never knows whether that is llama.cpp in this process, an upstream, or the pool.
 */
import type { Engine, ModelStatus } from './engine.js';
import { NimbusError } from './errors.js';

/** How to add a model, shown wherever the server has none. */
export interface NoModelAdvice {
  /** The exact command that adds a model, e.g. `nimbus pull hf:... && nimbus serve --model hf:...`. */
  command: string;
  /** Why no model is ready (offline, download failed, still loading). */
  reason: string;
}

export class ModelCatalog {
  private noModel: NoModelAdvice | undefined;

  constructor(private readonly engines: readonly Engine[]) {}

  /** Every model of every engine, in engine order. */
  list(): ModelStatus[] {
    return this.engines.flatMap((engine) => engine.models());
  }

  /** Models that can serve now. */
  ready(): ModelStatus[] {
    return this.list().filter((model) => model.state === 'ready');
  }

  /** Records why the server has no model and how to add one (used by /readyz and 503s). */
  setNoModelAdvice(advice: NoModelAdvice | undefined): void {
    this.noModel = advice;
  }

  /** Why the server cannot serve, or undefined when at least one model is ready. */
  notReadyReason(): string | undefined {
    if (this.ready().length > 0) return undefined;
    const failed = this.list().filter((model) => model.state === 'failed');
    const loading = this.list().filter((model) => model.state === 'loading');
    if (loading.length > 0) return `Loading ${loading.map((model) => model.id).join(', ')}.`;
    const parts = failed.map((model) => `${model.id}: ${model.error ?? 'failed'}`);
    if (this.noModel) parts.push(`${this.noModel.reason} Add a model with: ${this.noModel.command}`);
    return parts.length > 0 ? parts.join(' ') : 'No model is configured. Start the server with --model PATH.gguf.';
  }

  /** The engine serving `model`; 404 when unknown, 503 when the server has no model at all. */
  resolve(model: string): Engine {
    for (const engine of this.engines) {
      if (engine.models().some((status) => status.id === model)) return engine;
    }
    if (this.ready().length === 0) {
      throw new NimbusError('no_model', `No model can serve requests yet. ${this.notReadyReason() ?? ''}`.trim(), { headers: { 'retry-after': '5' } });
    }
    throw new NimbusError('model_not_found', `The model '${model}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
  }
}
