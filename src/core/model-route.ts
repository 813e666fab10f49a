/**
 * How one request for a model name is served: the model the name stands for (after aliases),
 * then its fallbacks, each on the engine that serves it. A target that fails before its first
 * event with a retryable error (unreachable, overloaded, not ready) hands over to the next;
 * once an event has gone out, the answer belongs to that target.
 */
import type { Attempt, EmbeddingRequest, EmbeddingResult, Engine, EngineCall, GenerationEvent } from './engine.js';
import { isNimbusError, toNimbusError } from './errors.js';
import type { ChatCompletionRequest, CompletionRequest } from './openai/request-schemas.js';

/** One model a request may be served by, and its engine. */
export interface RouteTarget {
  model: string;
  engine: Engine;
}

/** Whether a failure means "this model is unavailable now" (so a fallback may serve) rather than "this request is wrong". */
function canFallBack(error: unknown): boolean {
  return isNimbusError(error) && error.retryable;
}

type Start = (target: RouteTarget, call: EngineCall) => AsyncIterable<GenerationEvent>;

/**
 * Tries each target until one yields its first event, then hands every later `next()` straight
 * to that target's iterator: no generator in between, so an event costs one promise, not two.
 * Reports each model tried as an attempt unless its engine reported its own (replicas).
 */
class FallbackIterator implements AsyncIterableIterator<GenerationEvent> {
  private inner: AsyncIterator<GenerationEvent> | undefined;
  private reported = false;
  private readonly call: EngineCall;

  constructor(
    private readonly targets: readonly RouteTarget[],
    private readonly outer: EngineCall,
    private readonly start: Start,
  ) {
    const onAttempt = outer.onAttempt;
    this.call = onAttempt
      ? {
          ...outer,
          onAttempt: (attempt: Attempt) => {
            this.reported = true;
            onAttempt(attempt);
          },
        }
      : outer;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GenerationEvent>> {
    return this.inner ? this.inner.next() : this.open();
  }

  async return(): Promise<IteratorResult<GenerationEvent>> {
    await this.inner?.return?.();
    return { value: undefined, done: true };
  }

  private async open(): Promise<IteratorResult<GenerationEvent>> {
    for (const [index, target] of this.targets.entries()) {
      this.reported = false;
      let iterator: AsyncIterator<GenerationEvent>;
      let first: IteratorResult<GenerationEvent>;
      try {
        iterator = this.start(target, this.call)[Symbol.asyncIterator]();
        first = await iterator.next();
      } catch (error) {
        if (!this.reported) this.outer.onAttempt?.({ model: target.model, error: toNimbusError(error).code });
        if (index === this.targets.length - 1 || this.outer.cancel.aborted || !canFallBack(error)) throw error;
        continue;
      }
      if (!this.reported) this.outer.onAttempt?.({ model: target.model });
      this.inner = iterator;
      return first;
    }
    throw new Error('unreachable: a route has at least one target');
  }
}

export class ModelRoute {
  constructor(
    /** The name the client asked for. */
    readonly requested: string,
    /** The model it stands for, then its fallbacks in order; never empty. */
    readonly targets: readonly [RouteTarget, ...RouteTarget[]],
  ) {}

  /** The model the name stands for (before any fallback). */
  get primary(): RouteTarget {
    return this.targets[0];
  }

  /** Every model that may serve, in order: what admission quotes (the dearest) and scopes check (the first). */
  get models(): readonly string[] {
    return this.targets.length === 1 ? [this.targets[0].model] : this.targets.map((target) => target.model);
  }

  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return new FallbackIterator(this.targets, call, (target, targetCall) =>
      target.engine.chat(target.model === request.model ? request : { ...request, model: target.model }, targetCall),
    );
  }

  complete(request: CompletionRequest & { prompt: string }, call: EngineCall): AsyncIterable<GenerationEvent> {
    return new FallbackIterator(this.targets, call, (target, targetCall) =>
      target.engine.complete(target.model === request.model ? request : { ...request, model: target.model }, targetCall),
    );
  }

  /** Embeds on the first target that can; reports each model tried as an attempt unless its engine reported its own (replicas). */
  async embed(request: EmbeddingRequest, call: EngineCall): Promise<EmbeddingResult> {
    const outer = call.onAttempt;
    let reported = false;
    const inner: EngineCall = outer
      ? {
          ...call,
          onAttempt: (attempt: Attempt) => {
            reported = true;
            outer(attempt);
          },
        }
      : call;
    for (const [index, target] of this.targets.entries()) {
      reported = false;
      try {
        const result = await target.engine.embed({ ...request, model: target.model }, inner);
        if (!reported) outer?.({ model: target.model });
        return result;
      } catch (error) {
        if (!reported) outer?.({ model: target.model, error: toNimbusError(error).code });
        if (index === this.targets.length - 1 || call.cancel.aborted || !canFallBack(error)) throw error;
      }
    }
    throw new Error('unreachable: a route has at least one target');
  }
}
