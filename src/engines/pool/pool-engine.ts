/**
 * The pool engine: serves each model from the replicas placed on workers, in the order its
 * deployment's routing policy gives (src/cluster/routing), and fails over before the first
 * token. A replica whose worker died, refused (queue full) or failed before producing an event
 * is skipped for the next; once the first event has reached the client, a failure ends the
 * stream with an error event instead (retrying would repeat text the client already has).
 */
import type { EmbeddingRequest, Engine, EngineCall, EngineLoad, EmbeddingResult, GenerationEvent, ModelStatus } from '../../core/engine.js';
import { NimbusError } from '../../core/errors.js';
import type { ChatCompletionRequest, CompletionRequest } from '../../core/openai/request-schemas.js';
import { RoundRobinRouter, type ReplicaRouter, type RoutingRequest } from '../../core/replica-router.js';
import { PoolReplica, type PoolReplicaOptions } from './pool-replica.js';

type TextRequest = CompletionRequest & { prompt: string };

interface Deployment {
  router: ReplicaRouter;
  replicas: PoolReplica[];
  created: number;
}

/** The routing fields of a request (prefix keys, session): `routingKeys` from src/cluster, wired by main.ts. */
export type RoutingKeysOf = (request: ChatCompletionRequest | TextRequest) => Pick<RoutingRequest, 'prefixKeys' | 'sessionKey'>;

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

  constructor(options: PoolEngineOptions = {}) {
    this.routingKeys = options.routingKeys ?? (() => ({}));
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.replicaWait = options.replicaWait ?? { holds: () => false, wait: async () => undefined };
  }

  /** Adds a deployment, or changes its router; its replicas come with `setReplicas`. */
  deploy(model: string, router: ReplicaRouter = new RoundRobinRouter()): void {
    const known = this.deployments.get(model);
    this.deployments.set(model, { router, replicas: known?.replicas ?? [], created: known?.created ?? this.now() });
  }

  /** Replaces a deployment's replicas: placed, lost and moved ones take effect for the next request. */
  setReplicas(model: string, replicas: readonly PoolReplicaOptions[]): void {
    if (!this.deployments.has(model)) this.deploy(model);
    const deployment = this.deployments.get(model)!;
    const kept = new Map(deployment.replicas.map((replica) => [replica.id, replica]));
    deployment.replicas = replicas.map((options) => (kept.get(options.id)?.engine === options.engine ? kept.get(options.id)! : new PoolReplica(options)));
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
      const healthy = deployment.replicas.filter((replica) => replica.healthy);
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
    return this.generate(request, call, (engine) => engine.chat(request, call));
  }

  complete(request: TextRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return this.generate(request, call, (engine) => engine.complete(request, call));
  }

  async embed(request: EmbeddingRequest, call: EngineCall): Promise<EmbeddingResult> {
    const order = await this.order(request.model, call, {});
    let last: unknown;
    for (const replica of order) {
      call.onAttempt?.({ model: request.model, servedBy: replica.id });
      replica.inFlight += 1;
      try {
        const result = await replica.engine.embed(request, call);
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
    const engines = new Set([...this.deployments.values()].flatMap((deployment) => deployment.replicas.map((replica) => replica.engine)));
    this.deployments.clear();
    await Promise.all([...engines].map((engine) => engine.close()));
  }

  private async *generate(
    request: ChatCompletionRequest | TextRequest,
    call: EngineCall,
    start: (engine: Engine) => AsyncIterable<GenerationEvent>,
  ): AsyncGenerator<GenerationEvent> {
    const tokens = estimateTokens(request);
    const order = await this.order(request.model, call, { ...this.routingKeys(request), tokens });
    let last: unknown;
    for (const replica of order) {
      call.onAttempt?.({ model: request.model, servedBy: replica.id });
      replica.inFlight += 1;
      replica.outstandingTokens += tokens;
      let iterator: AsyncIterator<GenerationEvent> | undefined;
      let started = false;
      let finished = false;
      try {
        iterator = start(replica.engine)[Symbol.asyncIterator]();
        const first = await iterator.next();
        // From here the client has tokens from this replica: a failure ends the stream, no other try.
        started = true;
        for (let next = first; !next.done; next = await iterator.next()) yield attributed(next.value, replica, request.model);
        finished = true;
        return;
      } catch (error) {
        finished = true;
        if (started) throw error;
        last = this.failedTry(error, request.model, replica, call);
      } finally {
        replica.inFlight -= 1;
        replica.outstandingTokens -= tokens;
        // The consumer stopped early (client gone): let the replica's generation free its slot.
        if (!finished) await iterator?.return?.();
      }
    }
    throw this.exhausted(request.model, last);
  }

  /**
   * The healthy replicas of `model` in its policy's order; where there are none, waits for one if
   * the deployment holds requests, and throws the catalog's errors when there still are none.
   */
  private async order(model: string, call: EngineCall, keys: { prefixKeys?: readonly string[]; sessionKey?: string; tokens?: number }): Promise<PoolReplica[]> {
    const known = this.deployments.get(model);
    if (!known)
      throw new NimbusError('model_not_found', `The model '${model}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
    let healthy = known.replicas.filter((replica) => replica.healthy);
    if (healthy.length === 0 && this.replicaWait.holds(model)) await this.replicaWait.wait(model, call.cancel.signal);
    // Read again after the wait: the runtime replaced the replicas, or removed the deployment.
    const deployment = this.deployments.get(model) ?? known;
    healthy = deployment.replicas.filter((replica) => replica.healthy);
    if (healthy.length === 0)
      throw new NimbusError(
        'model_not_ready',
        `No replica of '${model}' is running; the pool is placing it. Retry shortly, or see nimbus deployments explain ${model}.`,
      );
    return deployment.router.order({ model, requestId: call.requestId, ...keys }, healthy);
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

/** A replica's `done` names the replica, and its compute report (the ledger's) the worker and the deployment. */
function attributed(event: GenerationEvent, replica: PoolReplica, deployment: string): GenerationEvent {
  if (event.type !== 'done') return event;
  return {
    ...event,
    servedBy: event.servedBy || replica.id,
    ...(event.compute ? { compute: { ...event.compute, worker: replica.worker, deployment } } : {}),
  };
}

/** Prompt characters / 4 plus the output budget: what outstanding-tokens routing weighs. */
function estimateTokens(request: ChatCompletionRequest | TextRequest): number {
  const characters = 'messages' in request ? JSON.stringify(request.messages).length : request.prompt.length;
  const output = ('max_completion_tokens' in request ? request.max_completion_tokens : undefined) ?? request.max_tokens ?? 256;
  return Math.ceil(characters / 4) + output;
}
