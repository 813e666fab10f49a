/**
 * The OpenAI-compatible upstream engine: serves model names from other servers (vLLM, SGLang,
 * llama-server, Ollama, clouds) over keep-alive HTTP. A name may have several replicas; a router
 * orders them per request, and a try that fails before the first token (connect error, timeout,
 * 5xx, 429) is retried on the next, with backoff and within a bounded number of tries. Answers
 * are relayed without re-serialization (see GenerationEvent.raw).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../../core/clock.js';
import { ConfigError, type ProviderConfig, type UpstreamModelConfig } from '../../core/config.js';
import type { EmbeddingRequest, EmbeddingResult, Engine, EngineCall, EngineLoad, GenerationEvent, ModelStatus } from '../../core/engine.js';
import { NimbusError, toNimbusError } from '../../core/errors.js';
import type { StaticWorkerModel, StaticWorkerView } from '../../core/pool-control.js';
import {
  chatCompletionFields,
  completionFields,
  embeddingFields,
  type ChatCompletionRequest,
  type CompletionRequest,
} from '../../core/openai/request-schemas.js';
import { RoundRobinRouter, type ReplicaRouter, type RoutingRequest } from '../../core/replica-router.js';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
import { embeddingAnswer } from './embedding-answer.js';
import { fetchWhole } from './exchange.js';
import { pickReplica, Replica, ReplicaLease } from './replica.js';
import { backoffDelay, type RetryOptions } from './retry-policy.js';
import { StreamRelay } from './stream-relay.js';
import { UpstreamGeneration } from './upstream-generation.js';
import { AttemptFailure } from './upstream-failure.js';
import { UpstreamProvider } from './upstream-provider.js';
import { estimatePromptTokens } from './upstream-usage.js';
import { wholeAnswer } from './whole-answer.js';

export interface OpenAIEngineOptions {
  providers: readonly ProviderConfig[];
  models: readonly UpstreamModelConfig[];
  retry: RetryOptions;
  breaker: BreakerOptions;
  /** Where API keys are read from: `process.env`, or a test's own record. */
  environment: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /** The router of each model's replicas (each model keeps its own state); round-robin by default. */
  routerFor?: (model: string) => ReplicaRouter;
  /** Routing fields of a request (prefix keys, session) for cache-aware and affinity policies; none by default. */
  routingKeys?: (request: ChatCompletionRequest | TextRequest) => Pick<RoutingRequest, 'prefixKeys' | 'sessionKey'>;
  /** Source of backoff jitter in [0, 1). */
  random?: () => number;
  /**
   * Streams are read event by event and handed on as parsed deltas, not the upstream's bytes
   * (see `RelayOptions.parse`): for the pool's replicas, whose streams the pool engine continues
   * elsewhere when a worker is lost mid-answer. Off by default: the gateway passes bytes through.
   */
  parseStreams?: boolean;
}

/** One replica's health, for tests, metrics and the console. */
export interface ReplicaState {
  model: string;
  replica: string;
  breaker: BreakerState;
  consecutiveFailures: number;
  inFlight: number;
  /** How long it asked not to get requests (429 with Retry-After), from now. */
  blockedForMs: number;
}

type TextRequest = CompletionRequest & { prompt: string };
/** A text request's fields: the completion's, with its one prompt. */
const textFields: ReadonlySet<string> = new Set([...completionFields, 'prompt']);

/**
 * The request as a provider gets it: the fields Nimbus checked (`known`), and of those the client
 * added unchecked only the ones the provider takes (`forwardFields`). The request itself when it
 * has nothing to leave out, which is the usual case.
 */
export function forwardable<Request extends object>(request: Request, known: ReadonlySet<string>, provider: UpstreamProvider): Request {
  const forward = provider.forwardFields;
  if (forward === 'all') return request;
  let drop = false;
  for (const name in request) {
    if (!known.has(name) && !forward.has(name)) {
      drop = true;
      break;
    }
  }
  if (!drop) return request;
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request)) if (known.has(name) || forward.has(name)) kept[name] = value;
  return kept as Request;
}

/**
 * The body sent upstream: the client's request under the provider's model name, asking for usage
 * when streaming, with its output cap (the client's, else `cap`, the one admission reserved) in
 * the field the provider takes (`UpstreamProvider.maxTokensField`; text completions have only
 * `max_tokens`). Without a cap to send or move, the request's fields are sent as they are.
 */
export function upstreamBody(
  request: ChatCompletionRequest | TextRequest,
  known: ReadonlySet<string>,
  replica: Replica,
  stream: boolean,
  cap: number | undefined,
): string {
  let fields: object = forwardable(request, known, replica.provider);
  const chat = 'messages' in request;
  const field = chat ? replica.provider.maxTokensField : 'max_tokens';
  const other = field === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
  const given = fields as { max_tokens?: number | null; max_completion_tokens?: number | null };
  if (given[other] != null || (given[field] == null && cap !== undefined)) {
    const moved: Record<string, unknown> = { ...fields, [field]: given[field] ?? given[other] ?? cap };
    delete moved[other];
    fields = moved;
  }
  if (!stream) return JSON.stringify({ ...fields, model: replica.upstreamModel });
  return JSON.stringify({ ...fields, model: replica.upstreamModel, stream_options: { ...request.stream_options, include_usage: true } });
}

/** A replica's breaker, load and Retry-After block at monotonic time `now`. */
function health(replica: Replica, now: number): Omit<ReplicaState, 'replica'> {
  return {
    model: replica.model,
    breaker: replica.breaker.state,
    consecutiveFailures: replica.breaker.consecutiveFailures,
    inFlight: replica.inFlight,
    blockedForMs: Math.max(0, replica.blockedUntil - now),
  };
}

export class OpenAIEngine implements Engine {
  readonly kind = 'openai';
  private readonly providers = new Map<string, UpstreamProvider>();
  private readonly replicas = new Map<string, Replica[]>();
  private readonly statuses: ModelStatus[];
  private readonly clock: Clock;
  private readonly routers = new Map<string, ReplicaRouter>();
  private readonly routingKeys: NonNullable<OpenAIEngineOptions['routingKeys']>;
  private readonly random: () => number;
  private readonly retry: RetryOptions;
  private readonly parseStreams: boolean;
  private closing: Promise<void> | undefined;

  constructor(options: OpenAIEngineOptions) {
    this.clock = options.clock ?? systemClock;
    const routerFor = options.routerFor ?? (() => new RoundRobinRouter());
    this.routingKeys = options.routingKeys ?? (() => ({}));
    this.random = options.random ?? Math.random;
    this.retry = options.retry;
    this.parseStreams = options.parseStreams ?? false;
    for (const config of options.providers) this.providers.set(config.id, new UpstreamProvider(config, options.environment));
    for (const model of options.models) {
      const provider = this.providers.get(model.provider);
      if (!provider) throw new ConfigError(`Upstream model '${model.id}' names the provider '${model.provider}', which is not configured.`);
      const list = this.replicas.get(model.id) ?? [];
      list.push(new Replica(model.id, model.upstreamModel ?? model.id, provider, new CircuitBreaker(options.breaker, this.clock)));
      this.replicas.set(model.id, list);
      if (!this.routers.has(model.id)) this.routers.set(model.id, routerFor(model.id));
    }
    const created = Math.floor(this.clock.now() / 1000);
    this.statuses = [...this.replicas].map(([id, replicas]) => ({
      id,
      engine: this.kind,
      state: 'ready' as const,
      created,
      servedBy: replicas.map((replica) => `${replica.id} (${replica.provider.location}${replica.upstreamModel === id ? '' : `, as ${replica.upstreamModel}`})`),
    }));
  }

  models(): ModelStatus[] {
    return this.statuses;
  }

  chat(request: ChatCompletionRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return new UpstreamGeneration(() => this.start('chat', '/chat/completions', request, call));
  }

  complete(request: TextRequest, call: EngineCall): AsyncIterable<GenerationEvent> {
    return new UpstreamGeneration(() => this.start('completion', '/completions', request, call));
  }

  async embed(request: EmbeddingRequest, call: EngineCall): Promise<EmbeddingResult> {
    const replicas = this.replicasOf(request.model);
    return this.withRetries({ model: request.model, requestId: call.requestId }, replicas, call, async (lease) => {
      const replica = lease.replica;
      const payload = JSON.stringify({ ...forwardable(request, embeddingFields, replica.provider), model: replica.upstreamModel });
      const body = await fetchWhole(replica, call, this.clock, '/embeddings', payload, replica.provider.timeouts.requestMs);
      const result = embeddingAnswer(replica, body, request.input);
      lease.settle('success');
      return result;
    });
  }

  load(): EngineLoad {
    let active = 0;
    for (const replicas of this.replicas.values()) for (const replica of replicas) active += replica.inFlight;
    return { active, queued: 0 };
  }

  /** Each provider as a static worker of the pool: its models, their breakers and its requests in flight. */
  staticWorkers(): StaticWorkerView[] {
    const now = this.clock.monotonic();
    const all = [...this.replicas.values()].flat();
    return [...this.providers.values()].map((provider) => {
      const models = all
        .filter((replica) => replica.provider === provider)
        .map((replica): StaticWorkerModel => ({ upstreamModel: replica.upstreamModel, ...health(replica, now) }));
      const open = models.filter((model) => model.breaker === 'open').length;
      const waiting = models.some((model) => model.blockedForMs > 0);
      return {
        kind: 'static',
        name: provider.id,
        endpoint: provider.location,
        state: models.length > 0 && open === models.length ? 'unreachable' : open > 0 || waiting ? 'degraded' : 'ready',
        models,
        load: { activeRequests: models.reduce((sum, model) => sum + model.inFlight, 0) },
      };
    });
  }

  /** Every replica's health now. */
  replicaStates(): ReplicaState[] {
    const now = this.clock.monotonic();
    return [...this.replicas.values()].flat().map((replica) => ({ replica: replica.id, ...health(replica, now) }));
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.providers.values()].map((provider) => provider.close())).then(() => undefined);
    return this.closing;
  }

  private replicasOf(model: string): Replica[] {
    const replicas = this.replicas.get(model);
    if (!replicas)
      throw new NimbusError('model_not_found', `The model '${model}' does not exist. GET /v1/models lists the models this server serves.`, { param: 'model' });
    return replicas;
  }

  /**
   * Runs the tries: a whole answer's events, or a stream's relay once it has its first token
   * (`open` holds back what came before it, so until then nothing has reached the client and
   * another replica may still answer). The relay settles its lease when the stream ends.
   */
  private start(
    kind: 'chat' | 'completion',
    path: string,
    request: ChatCompletionRequest | TextRequest,
    call: EngineCall,
  ): Promise<GenerationEvent[] | StreamRelay> {
    const replicas = this.replicasOf(request.model);
    let promptTokens: number | undefined;
    const estimate = (): number => (promptTokens ??= estimatePromptTokens(request));
    const output = ('max_completion_tokens' in request ? request.max_completion_tokens : undefined) ?? request.max_tokens ?? call.maxTokens ?? 256;
    const routing: RoutingRequest = { model: request.model, requestId: call.requestId, ...this.routingKeys(request), tokens: estimate() + output };
    const known = kind === 'chat' ? chatCompletionFields : textFields;
    if (!request.stream) {
      return this.withRetries(routing, replicas, call, async (lease) => {
        const replica = lease.replica;
        const body = await fetchWhole(
          replica,
          call,
          this.clock,
          path,
          upstreamBody(request, known, replica, false, call.maxTokens),
          replica.provider.timeouts.requestMs,
        );
        const events = wholeAnswer(replica, kind, body, estimate);
        lease.settle('success');
        return events;
      });
    }
    const options = { kind, clientWantsUsage: Boolean(request.stream_options?.include_usage), estimatePromptTokens: estimate, parse: this.parseStreams };
    return this.withRetries(routing, replicas, call, async (lease) => {
      const relay = new StreamRelay(lease.replica, call, this.clock, options, (verdict) => lease.settle(verdict));
      await relay.open(path, upstreamBody(request, known, lease.replica, true, call.maxTokens));
      return relay;
    });
  }

  /**
   * Runs `tryOnce` on replicas in the router's order until one succeeds, a failure is not worth
   * another try, or the tries run out. `tryOnce` settles its lease on success; failures are
   * settled here with their verdict. Every try is reported through `call.onAttempt`.
   */
  private async withRetries<T>(
    routing: RoutingRequest,
    replicas: readonly Replica[],
    call: EngineCall,
    tryOnce: (lease: ReplicaLease) => Promise<T>,
  ): Promise<T> {
    const model = routing.model;
    // replicasOf has refused unknown models, and every served model got its router at construction.
    const order = this.routers.get(model)!.order(routing, replicas);
    const tried = new Set<Replica>();
    let tries = 0;
    let last: AttemptFailure | undefined;
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt += 1) {
      const pick = pickReplica(order, tried, this.clock.monotonic(), this.retry.maxRetryAfterMs);
      if (!pick) break;
      const wait = Math.max(pick.waitMs, backoffDelay(attempt, this.retry, this.random));
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal: call.cancel.signal });
        } catch {
          throw call.cancel.reason;
        }
      }
      const replica = pick.replica;
      const permit = replica.breaker.acquire();
      if (!permit) continue;
      tried.add(replica);
      tries += 1;
      const lease = new ReplicaLease(replica, permit, routing.tokens ?? 0);
      try {
        const result = await tryOnce(lease);
        call.onAttempt?.({ model, servedBy: replica.id });
        return result;
      } catch (error) {
        const failure = error instanceof AttemptFailure ? error : new AttemptFailure(toNimbusError(error), false, 'none');
        lease.settle(failure.verdict);
        if (call.cancel.aborted) throw call.cancel.reason;
        if (failure.retryAfterMs !== undefined) replica.blockedUntil = this.clock.monotonic() + failure.retryAfterMs;
        call.onAttempt?.({ model, servedBy: replica.id, error: failure.error.code });
        if (!failure.retryable) throw failure.error;
        last = failure;
      }
    }
    if (!last) throw this.unavailable(model, replicas);
    if (tries === 1) throw last.error;
    const error = last.error;
    const on = [...tried].map((replica) => replica.id).join(', ');
    throw new NimbusError(error.code, `${error.message} (${tries} tries, on ${on})`, { status: error.status, headers: error.headers, param: error.param });
  }

  /** No replica may be tried now: every one is rate-limited past the wait we accept, or its breaker is open. */
  private unavailable(model: string, replicas: readonly Replica[]): NimbusError {
    const now = this.clock.monotonic();
    const waitMs = Math.min(...replicas.map((replica) => Math.max(replica.blockedUntil - now, replica.breaker.retryInMs, 0)));
    const headers = { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) };
    const limited = replicas.filter((replica) => replica.breaker.canTry());
    if (limited.length > 0 && limited.every((replica) => replica.blockedUntil > now)) {
      const message = `Every replica of '${model}' asked Nimbus to wait (429 with Retry-After). Retry in ${headers['retry-after']} s.`;
      return new NimbusError('rate_limit_exceeded', message, { headers });
    }
    const names = replicas.map((replica) => replica.id).join(', ');
    return new NimbusError(
      'upstream_error',
      `Every replica of '${model}' is failing, so its circuit breakers are open (${names}). Retry in ${headers['retry-after']} s, or configure a fallback model for it.`,
      { status: 503, headers },
    );
  }
}
