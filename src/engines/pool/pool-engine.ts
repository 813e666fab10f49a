/**
 * The pool engine: serves each model from the replicas placed on workers, in the order its
 * deployment's routing policy gives (src/cluster/routing). A replica whose worker died, refused
 * (queue full) or failed before producing an event is skipped for the next. A stream whose
 * replica is lost after its first event (the connection broke, or the replica was abandoned
 * because its worker froze or left the pool) continues on another replica from the text the
 * client already has (`continuation.ts`), where the answer is plain text; otherwise it ends with
 * an error event. Each try is reported once through `EngineCall.onAttempt`.
 */
import { Cancellation } from '../../core/cancellation.js';
import type { EmbeddingRequest, Engine, EngineCall, EngineLoad, EmbeddingResult, GenerationEvent, ModelStatus } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import type { Usage } from '../../core/openai/response-types.js';
import { RoundRobinRouter, type ReplicaRouter, type RoutingOutcome, type RoutingRequest } from '../../core/replica-router.js';
import { continuationOf, joinedDone, mayContinue, spentDone, type StreamedSoFar } from './continuation.js';
import { PoolReplica, type PoolReplicaOptions, type ReplicaTry } from './pool-replica.js';

type TextRequest = CompletionRequest & { prompt: string };

interface Deployment {
  router: ReplicaRouter;
  replicas: PoolReplica[];
  created: number;
}

/** The routing fields of a request (prefix keys, session): `routingKeys` from src/cluster, wired by main.ts. */
export type RoutingKeysOf = (request: ChatCompletionRequest | TextRequest) => Pick<RoutingRequest, 'prefixKeys' | 'sessionKey' | 'promptChars'>;

/** Where a request waits while its deployment has no replica ready (scale from zero): the pool runtime. */
export interface ReplicaWait {
  /** Whether requests for `model` wait for a replica (its deployment autoscales) rather than get a 503 at once. */
  holds(model: string): boolean;
  /** Resolves once a replica of `model` may serve; rejects (503 model_not_ready) after the deployment's timeout, on abort, or at shutdown. */
  wait(model: string, signal: AbortSignal): Promise<void>;
}

/** Options of `PoolEngine`. */
export interface PoolEngineOptions {
  /** Derives routing keys from a request; by default none (policies then route on load alone). */
  routingKeys?: RoutingKeysOf;
  /** Holds requests for deployments with no replica ready; by default none is held (503 at once). */
  replicaWait?: ReplicaWait;
  /** Unix seconds now, for `ModelStatus.created`. */
  now?: () => number;
  /**
   * How long a try on a stalled replica may go without an event before it is abandoned (two
   * heartbeats); checked every quarter of it. Default 10 s.
   */
  stallMs?: number;
  /** Monotonic milliseconds, for the stall watchdog. */
  monotonic?: () => number;
  /** Requests taken off a replica (its worker froze or left) to go on elsewhere: how many, and why (for the log). */
  onAbandon?: (replica: string, requests: number, reason: string) => void;
}

/**
 * Serves pool deployments; the pool runtime keeps each deployment's replicas current with
 * `setReplicas`. Routers come from the caller (src/cluster/routing's `createRouter`), so engines
 * import nothing but core.
 */
export class PoolEngine implements Engine {
  readonly kind = 'pool';
  private readonly deployments = new Map<string, Deployment>();
  private readonly routingKeys: RoutingKeysOf;
  private readonly now: () => number;
  private readonly replicaWait: ReplicaWait;
  private readonly stallMs: number;
  private readonly monotonic: () => number;
  private readonly watchdog: NodeJS.Timeout;
  private readonly onAbandon: NonNullable<PoolEngineOptions['onAbandon']>;

  constructor(options: PoolEngineOptions = {}) {
    this.routingKeys = options.routingKeys ?? (() => ({}));
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.replicaWait = options.replicaWait ?? { holds: () => false, wait: async () => undefined };
    this.stallMs = options.stallMs ?? 10_000;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.onAbandon = options.onAbandon ?? (() => undefined);
    this.watchdog = setInterval(() => this.abandonStalled(), Math.max(10, this.stallMs / 4)).unref();
  }

  /** Adds a deployment, or changes its router; its replicas come with `setReplicas`. */
  deploy(model: string, router: ReplicaRouter = new RoundRobinRouter()): void {
    const known = this.deployments.get(model);
    this.deployments.set(model, { router, replicas: known?.replicas ?? [], created: known?.created ?? this.now() });
  }

  /** A replica's worker reported the prefix keys its caches hold (most recent first): the deployment's router replaces its guess with them. */
  cached(model: string, replica: string, prefixKeys: readonly string[], complete: boolean): void {
    this.deployments.get(model)?.router.observe?.({ kind: 'cached', model, requestId: '', replica, prefixKeys, complete });
  }

  /** A replica's worker told its KV memory in tokens: the router reads it from the replica (`RoutingCandidate.kvTokens`). */
  kvSize(model: string, replica: string, kvTokens: number): void {
    const found = this.deployments.get(model)?.replicas.find((entry) => entry.id === replica);
    if (found) found.kvTokens = kvTokens;
  }

  /**
   * Replaces a deployment's replicas: placed, lost and moved ones take effect for the next
   * request. Requests still running on a replica that left are abandoned and go on elsewhere.
   */
  setReplicas(model: string, replicas: readonly PoolReplicaOptions[]): void {
    if (!this.deployments.has(model)) this.deploy(model);
    const deployment = this.deployments.get(model)!;
    const kept = new Map(deployment.replicas.map((replica) => [replica.id, replica]));
    deployment.replicas = replicas.map((options) => (kept.get(options.id)?.engine === options.engine ? kept.get(options.id)! : new PoolReplica(options)));
    // Only where another replica may take them: when every replica went at once, the likelier
    // cause is this process's own silence, and the requests may still finish where they run.
    if (!deployment.replicas.some((replica) => replica.healthy)) return;
    for (const replica of kept.values()) {
      if (deployment.replicas.includes(replica) || replica.tries.size === 0) continue;
      const reason = `The replica ${replica.id} left the pool (its worker stopped answering, or the replica moved).`;
      this.onAbandon(replica.id, replica.abandon(new NimbusError('worker_lost', reason)), reason);
    }
  }

  /** Stops serving a deployment; its replicas' engines are closed. */
  undeploy(model: string): void {
    const deployment = this.deployments.get(model);
    if (!deployment) return;
    this.deployments.delete(model);
    // Requests in flight keep their engine until they end; a closed undici pool lets them finish.
    for (const replica of deployment.replicas) void replica.engine.close().catch(() => undefined);
  }

  models(): ModelStatus[] {
    return [...this.deployments].map(([id, deployment]) => {
      const healthy = candidates(deployment.replicas);
      // A deployment that holds requests takes them at zero replicas: it is ready to be called.
      const serves = healthy.length > 0 || this.replicaWait.holds(id);
      return {
        id,
        engine: this.kind,
        state: serves ? 'ready' : 'loading',
        created: deployment.created,
        servedBy: healthy.map((replica) => replica.id),
        ...(serves ? {} : { error: `No replica of '${id}' is running yet; see nimbus workers and nimbus deployments explain ${id}.` }),
      };
    });
  }

  /** Requests this server has sent to `model`'s replicas (or to the one with id `replica`) and not yet seen end. */
  inFlight(model: string, replica?: string): number {
    return (this.deployments.get(model)?.replicas ?? [])
      .filter((candidate) => replica === undefined || candidate.id === replica)
      .reduce((total, candidate) => total + candidate.inFlight, 0);
  }

  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return this.generate(request, call, (engine, sent, replicaCall) => engine.chat(sent, replicaCall));
  }

  complete(request: TextRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return this.generate(request, call, (engine, sent, replicaCall) => engine.complete(sent, replicaCall));
  }

  async embed(request: EmbeddingRequest, call: EngineCall): Promise<EmbeddingResult> {
    const order = await this.order(request.model, call, {});
    let last: unknown;
    for (const replica of order) {
      replica.inFlight += 1;
      try {
        // The replica's own engine reports nothing: each try is reported once, here.
        const result = await replica.engine.embed(request, replicaCall(call, call.cancel));
        call.onAttempt?.({ model: request.model, servedBy: replica.id });
        return result.compute ? { ...result, compute: { ...result.compute, worker: replica.worker, deployment: request.model } } : result;
      } catch (error) {
        last = this.failedTry(error, request.model, replica, call);
      } finally {
        replica.inFlight -= 1;
      }
    }
    throw this.exhausted(request.model, last);
  }

  load(): EngineLoad {
    let active = 0;
    for (const deployment of this.deployments.values()) for (const replica of deployment.replicas) active += replica.inFlight;
    return { active, queued: 0 };
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    const engines = new Set([...this.deployments.values()].flatMap((deployment) => deployment.replicas.map((replica) => replica.engine)));
    this.deployments.clear();
    await Promise.all([...engines].map((engine) => engine.close()));
  }

  private async *generate<Request extends ChatCompletionRequest | TextRequest>(
    asked: Request,
    call: EngineCall,
    start: (engine: Engine, request: Request, call: EngineCall) => AsyncIterable<GenerationEvent>,
  ): AsyncGenerator<GenerationEvent> {
    // The cap admission reserved goes to the worker in the body, where the client set none.
    const request = withCap(asked, call.maxTokens);
    const tokens = estimateTokens(request);
    const order = await this.order(request.model, call, { ...this.routingKeys(request), tokens });
    const batch = call.priority === 'batch';
    const sofar: StreamedSoFar = { text: '', chunks: 0, toolCalls: false };
    /** The request as the next try sends it: the client's, or its continuation once a try was cut. */
    let current: Request = request;
    /** What had been streamed at the last cut: the continuation's prompt holds it. */
    let carried: StreamedSoFar | undefined;
    let last: unknown;
    const tried = new Set<PoolReplica>();
    // A batch request yields to interactive ones on the worker: what became of it says nothing of the replica's speed or queue for them.
    const router = batch ? undefined : this.deployments.get(request.model)?.router;
    const tell = (kind: RoutingOutcome['kind'], replica: PoolReplica, usage?: Usage) =>
      router?.observe?.({
        kind,
        model: request.model,
        requestId: call.requestId,
        replica: replica.id,
        ...(usage ? { promptTokens: usage.prompt_tokens, cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0 } : {}),
      });
    for (let replica = next(order, tried); replica; replica = next(order, tried) ?? (carried ? this.freshReplica(request.model, tried) : undefined)) {
      tried.add(replica);
      let usage: Usage | undefined;
      // The try's own cancellation: the client's, or this engine's when the replica is lost.
      const attempt: ReplicaTry = { cancel: new Cancellation(), lastEventAt: this.monotonic() };
      const unfollow = call.cancel.onAbort((reason) => attempt.cancel.abort(reason));
      const abandoned = (): boolean => attempt.cancel.aborted && !call.cancel.aborted;
      replica.tries.add(attempt);
      replica.inFlight += 1;
      replica.outstandingTokens += tokens;
      tell('sent', replica);
      let iterator: AsyncIterator<GenerationEvent> | undefined;
      let started = false;
      let finished = false;
      try {
        // The replica's own engine reports nothing: each try is reported once, here.
        iterator = start(replica.engine, current, replicaCall(call, attempt.cancel))[Symbol.asyncIterator]();
        let next = await iterator.next();
        if (abandoned()) throw attempt.cancel.reason;
        call.onAttempt?.({ model: request.model, servedBy: replica.id, ...(carried ? { continued: true } : {}) });
        started = true;
        tell('first-token', replica);
        for (; !next.done; next = await iterator.next()) {
          // An abandoned try's engine ends as if the client had left: that end is not the answer's.
          if (abandoned()) throw attempt.cancel.reason;
          attempt.lastEventAt = this.monotonic();
          const event = next.value;
          if (event.type === 'delta') {
            if (event.content) sofar.text += event.content;
            if (event.toolCalls?.length) sofar.toolCalls = true;
            if (event.content || event.toolCalls?.length) sofar.chunks += 1;
            yield event;
          } else {
            usage = event.usage;
            yield attributed(carried ? joinedDone(event, carried) : event, replica, request.model);
          }
        }
        finished = true;
        return;
      } catch (error) {
        finished = true;
        // The stream of an abandoned try is closed, whatever state it was in.
        if (abandoned()) await iterator?.return?.();
        if (!started) {
          last = this.failedTry(error, request.model, replica, call);
          continue;
        }
        if (call.cancel.aborted || !(error instanceof NimbusError) || !error.retryable || !mayContinue(request, sofar)) throw error;
        // Cut mid-answer: the try is reported again with its error, and the text goes on elsewhere.
        call.onAttempt?.({ model: request.model, servedBy: replica.id, error: error.code });
        const continuation = continuationOf(request, sofar);
        if (!continuation) {
          yield attributed(spentDone(sofar, estimatePromptTokens(request)), replica, request.model);
          return;
        }
        current = continuation;
        carried = { ...sofar };
        last = error;
      } finally {
        unfollow();
        replica.tries.delete(attempt);
        replica.inFlight -= 1;
        replica.outstandingTokens -= tokens;
        tell('ended', replica, usage);
        // The consumer stopped early (client gone): let the replica's generation free its slot.
        if (!finished) await iterator?.return?.();
      }
    }
    throw this.exhausted(request.model, last);
  }

  /** A replica of `model` serving now and not tried yet, for a stream cut after the first order ran out (one placed since, say). */
  private freshReplica(model: string, tried: ReadonlySet<PoolReplica>): PoolReplica | undefined {
    return candidates(this.deployments.get(model)?.replicas ?? []).find((replica) => !tried.has(replica));
  }

  /**
   * Abandons tries on stalled replicas that have had no event for `stallMs`: they go on
   * elsewhere. Only where another replica of the deployment serves and is not stalled: when every
   * worker looks silent at once, the likelier silence is this process's own (a pause, a slow
   * loop), and there would be nowhere to go anyway.
   */
  private abandonStalled(): void {
    const now = this.monotonic();
    for (const deployment of this.deployments.values()) {
      if (!deployment.replicas.some((replica) => replica.healthy)) continue;
      for (const replica of deployment.replicas) {
        if (replica.tries.size === 0 || !replica.stalled) continue;
        const silentS = Math.round(this.stallMs / 100) / 10;
        const reason = `The worker of replica ${replica.id} stopped answering (silent for ${silentS} s).`;
        const moved = replica.abandon(new NimbusError('worker_lost', reason), (entry) => now - entry.lastEventAt >= this.stallMs);
        if (moved > 0) this.onAbandon(replica.id, moved, reason);
      }
    }
  }

  /**
   * The healthy replicas of `model` in its policy's order; where there are none, waits for one if
   * the deployment holds requests, and throws the catalog's errors when there still are none.
   */
  private async order(
    model: string,
    call: EngineCall,
    keys: { prefixKeys?: readonly string[]; sessionKey?: string; tokens?: number; promptChars?: number },
  ): Promise<PoolReplica[]> {
    const known = this.deployments.get(model);
    if (!known)
      throw new NimbusError('model_not_found', `The model '${model}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
    let healthy = candidates(known.replicas);
    if (healthy.length === 0 && this.replicaWait.holds(model)) await this.replicaWait.wait(model, call.cancel.signal);
    // Read again after the wait: the runtime replaced the replicas, or removed the deployment.
    const deployment = this.deployments.get(model) ?? known;
    healthy = candidates(deployment.replicas);
    if (healthy.length === 0)
      throw new NimbusError(
        'model_not_ready',
        `No replica of '${model}' is running; the pool is placing it. Retry shortly, or see nimbus deployments explain ${model}.`,
      );
    const priority = call.priority ?? 'interactive';
    const ordered = deployment.router.order({ model, requestId: call.requestId, priority, ...keys }, healthy);
    // A batch request goes where the fewest requests run (the policy's order breaks ties): it takes replicas interactive traffic leaves free.
    return priority === 'batch'
      ? ordered
          .map((replica, index) => ({ replica, index }))
          .sort((a, b) => a.replica.inFlight - b.replica.inFlight || a.index - b.index)
          .map(({ replica }) => replica)
      : ordered;
  }

  /** Reports a failed try and returns the error, or rethrows it when another replica would not help. */
  private failedTry(error: unknown, model: string, replica: PoolReplica, call: EngineCall): unknown {
    if (call.cancel.aborted) throw error;
    if (error instanceof NimbusError && !error.retryable) throw error;
    call.onAttempt?.({ model, servedBy: replica.id, error: error instanceof NimbusError ? error.code : 'upstream_error' });
    return error;
  }

  private exhausted(model: string, last: unknown): NimbusError {
    if (last instanceof NimbusError) return last;
    return new NimbusError(
      'upstream_error',
      `Every replica of '${model}' failed before answering; check nimbus workers. Last error: ${String((last as Error | undefined)?.message ?? last)}`,
      { cause: last },
    );
  }
}

/** The call a replica's engine gets: the request's id and class, and the try's cancellation. */
function replicaCall(call: EngineCall, cancel: Cancellation): EngineCall {
  return call.priority === undefined ? { requestId: call.requestId, cancel } : { requestId: call.requestId, cancel, priority: call.priority };
}

/** The next replica of `order` not tried yet that still serves (one that left since the order was made is not tried). */
function next(order: readonly PoolReplica[], tried: ReadonlySet<PoolReplica>): PoolReplica | undefined {
  return order.find((replica) => !tried.has(replica) && replica.serving);
}

/** The request with `max_tokens` set to `cap` where it sets no output budget of its own. */
function withCap<Request extends ChatCompletionRequest | TextRequest>(request: Request, cap: number | undefined): Request {
  if (cap === undefined || request.max_tokens != null || ('max_completion_tokens' in request && request.max_completion_tokens != null)) return request;
  return { ...request, max_tokens: cap };
}

/** The replicas a request may go to: those serving and not stalled, or, where every one is stalled, those serving. */
function candidates(replicas: readonly PoolReplica[]): PoolReplica[] {
  const fresh = replicas.filter((replica) => replica.healthy);
  return fresh.length > 0 ? fresh : replicas.filter((replica) => replica.serving);
}

/** A replica's `done` names the replica, and its compute report (the ledger's) the worker and the deployment. */
function attributed(event: GenerationEvent, replica: PoolReplica, deployment: string): GenerationEvent {
  if (event.type !== 'done') return event;
  return {
    ...event,
    servedBy: event.servedBy || replica.id,
    ...(event.compute ? { compute: { ...event.compute, worker: replica.worker, deployment } } : {}),
  };
}

/** Prompt characters / 4. */
function estimatePromptTokens(request: ChatCompletionRequest | TextRequest): number {
  const characters = 'messages' in request ? JSON.stringify(request.messages).length : request.prompt.length;
  return Math.ceil(characters / 4);
}

/** The prompt's estimate plus the output budget: what outstanding-tokens routing weighs. */
function estimateTokens(request: ChatCompletionRequest | TextRequest): number {
  const output = ('max_completion_tokens' in request ? request.max_completion_tokens : undefined) ?? request.max_tokens ?? 256;
  return estimatePromptTokens(request) + output;
}
