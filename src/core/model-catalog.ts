/**
 * The model catalog: which engine serves a model name. The HTTP layer asks it for an engine and
 * never knows whether that is llama.cpp in this process, an upstream, or the pool. Aliases
 * (another name for a model) and fallbacks (models that serve when one is unavailable) live
 * here because they cross engines: a local model may fall back to an upstream one.
 */
import type { Engine, ModelStatus } from './engine.js';
import { NimbusError } from './errors.js';
import { ModelRoute, type RouteTarget } from './model-route.js';

/** Names that stand for other models, and what serves when a model is unavailable. */
export interface CatalogRouting {
  /** `alias -> model`: a client asking for the alias is served by the model. One level only. */
  aliases?: Record<string, string>;
  /** `model -> [fallback, ...]`: tried in order when the model fails before its first token. Not transitive. */
  fallbacks?: Record<string, string[]>;
  /**
   * Asked when no engine serves a name (`learn`): true once it serves now. The pool's: a deployment
   * another control plane created moments ago is read from the shared store, not 404'd until the
   * next reconcile.
   */
  lateModels?: (model: string) => Promise<boolean>;
}

/** How to add a model, shown wherever the server has none. */
export interface NoModelAdvice {
  /** The exact command that adds a model, e.g. `nimbus pull hf:...`. */
  command: string;
  /** Why no model is ready (offline, download failed, still downloading). */
  reason: string;
  /**
   * True while the condition clears by itself (a download under way): a client is then told to
   * retry. False or absent when only a person can clear it (pull a model): no Retry-After then.
   */
  pending?: boolean;
}

export class ModelCatalog {
  private noModel: NoModelAdvice | undefined;

  private readonly aliasTargets: ReadonlyMap<string, string>;
  private readonly fallbacks: ReadonlyMap<string, readonly string[]>;
  private readonly lateModels: ((model: string) => Promise<boolean>) | undefined;

  constructor(
    private readonly engines: readonly Engine[],
    routing: CatalogRouting = {},
  ) {
    this.aliasTargets = new Map(Object.entries(routing.aliases ?? {}));
    this.fallbacks = new Map(Object.entries(routing.fallbacks ?? {}));
    this.lateModels = routing.lateModels;
  }

  /**
   * Where no engine serves `model` (or what its alias stands for), asks `lateModels` once before
   * `route` answers 404: call it first on a request's path. A name that is served costs nothing.
   */
  async learn(model: string): Promise<void> {
    const canonical = this.canonical(model);
    if (this.lateModels && !this.engineFor(canonical)) await this.lateModels(canonical);
  }

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
    if (this.noModel) {
      const { reason, command, pending } = this.noModel;
      parts.push(pending || reason.includes(command) ? reason : `${reason} Add a model with: ${command}`);
    }
    return parts.length > 0 ? parts.join(' ') : 'No model is configured. Start the server with --model PATH.gguf.';
  }

  /** Every alias and the model it stands for. */
  aliases(): Array<{ alias: string; model: string }> {
    return [...this.aliasTargets].map(([alias, model]) => ({ alias, model }));
  }

  /** The model name an alias stands for, or the name itself. */
  canonical(model: string): string {
    return this.aliasTargets.get(model) ?? model;
  }

  /** Alias and fallback targets that no engine serves, in words (logged once models settle). */
  routingProblems(): string[] {
    const problems: string[] = [];
    for (const [alias, model] of this.aliasTargets) if (!this.engineFor(model)) problems.push(`alias '${alias}' points to '${model}', which no engine serves`);
    for (const [model, chain] of this.fallbacks) {
      for (const fallback of chain)
        if (!this.engineFor(this.canonical(fallback))) problems.push(`fallback '${fallback}' of '${model}' is not served by any engine`);
    }
    return problems;
  }

  /**
   * How a request for `model` is served: its alias resolved, then its fallbacks that some engine
   * serves. Throws like `resolve` when the name itself is unknown.
   */
  route(model: string): ModelRoute {
    const canonical = this.canonical(model);
    const primary: RouteTarget = { model: canonical, engine: this.resolve(model) };
    const fallbacks: RouteTarget[] = [];
    for (const name of this.fallbacks.get(canonical) ?? []) {
      const target = this.canonical(name);
      const engine = this.engineFor(target);
      if (engine && target !== canonical && !fallbacks.some((known) => known.model === target)) fallbacks.push({ model: target, engine });
    }
    return new ModelRoute(model, [primary, ...fallbacks]);
  }

  /**
   * The engine serving `model` (or the model its alias stands for); 404 when unknown. With no
   * model ready at all: 503 `model_not_ready` with Retry-After while one is downloading or
   * loading (it clears by itself), else 503 `no_model`, which only a person clears, so it
   * carries no Retry-After and tells OpenAI's SDKs not to retry (`x-should-retry: false`).
   */
  resolve(model: string): Engine {
    const engine = this.engineFor(this.canonical(model));
    if (engine) return engine;
    if (this.ready().length === 0) {
      const message = `No model can serve requests yet. ${this.notReadyReason() ?? ''}`.trim();
      const pending = this.noModel?.pending === true || this.list().some((status) => status.state === 'loading');
      if (pending) throw new NimbusError('model_not_ready', message, { headers: { 'retry-after': '5' } });
      throw new NimbusError('no_model', message, { headers: { 'x-should-retry': 'false' } });
    }
    const target = this.aliasTargets.get(model);
    const why = target ? `is an alias of '${target}', which this server does not serve` : 'does not exist';
    throw new NimbusError('model_not_found', `The model '${model}' ${why}. GET /v1/models lists the models this server serves.`, { param: 'model' });
  }

  private engineFor(model: string): Engine | undefined {
    for (const engine of this.engines) {
      if (engine.models().some((status) => status.id === model)) return engine;
    }
    return undefined;
  }
}
