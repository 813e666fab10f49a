/**
 * Prometheus metrics: requests by status, tokens in and out, time to first token and inter-token
 * latency, queue depth and loaded models. Gauges are read from the engines at scrape time, so
 * the hot path only increments counters and observes histograms.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { Engine } from '../core/engine.js';
import type { FinishedRequest, RequestMeter } from '../tenancy/accounting/sinks.js';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const tokenGapBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class Metrics implements RequestMeter {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'model' | 'status'>;
  readonly promptTokens: Counter<'model'>;
  readonly completionTokens: Counter<'model'>;
  readonly timeToFirstToken: Histogram<'model'>;
  readonly interTokenLatency: Histogram<'model'>;
  readonly requestDuration: Histogram<'route'>;
  readonly tenantRequests: Counter<'tenant' | 'model' | 'status'>;
  readonly tenantTokens: Counter<'tenant' | 'model' | 'type'>;
  readonly tenantComputeSeconds: Counter<'tenant' | 'model'>;
  readonly tenantCost: Counter<'tenant' | 'model'>;
  /** Apps' calls: a family of their own, so the model-level families keep their labels (and cardinality). */
  readonly appRequests: Counter<'tenant' | 'app' | 'version' | 'model' | 'status'>;
  readonly appTokens: Counter<'tenant' | 'app' | 'version' | 'model' | 'type'>;
  readonly appCost: Counter<'tenant' | 'app' | 'version' | 'model'>;
  readonly errors: Counter<'status' | 'code'>;

  constructor(catalog: ModelCatalog, engines: readonly Engine[]) {
    const registers = [this.registry];
    // The request counters' increments are summed here and handed to prom-client when it is read.
    const collect = (): void => this.applyPending();
    collectDefaultMetrics({ register: this.registry, prefix: 'nimbus_process_' });
    this.errors = new Counter({
      name: 'nimbus_http_errors_total',
      help: 'Error answers by HTTP status and code: refusals before a model is chosen (400, 404, 405, 413, 415, 401, 403) as well as those of inference requests (429, 422, 5xx).',
      labelNames: ['status', 'code'],
      registers,
    });
    this.requests = new Counter({
      name: 'nimbus_requests_total',
      collect,
      help: 'Requests by route, model and HTTP status.',
      labelNames: ['route', 'model', 'status'],
      registers,
    });
    this.promptTokens = new Counter({ name: 'nimbus_prompt_tokens_total', collect, help: 'Prompt tokens processed.', labelNames: ['model'], registers });
    this.completionTokens = new Counter({ name: 'nimbus_completion_tokens_total', collect, help: 'Tokens generated.', labelNames: ['model'], registers });
    this.timeToFirstToken = new Histogram({
      name: 'nimbus_time_to_first_token_seconds',
      help: 'Time from request to first generated token.',
      labelNames: ['model'],
      buckets: latencyBuckets,
      registers,
    });
    this.interTokenLatency = new Histogram({
      name: 'nimbus_inter_token_latency_seconds',
      help: 'Gap between streamed chunks of one response.',
      labelNames: ['model'],
      buckets: tokenGapBuckets,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'nimbus_request_duration_seconds',
      help: 'Whole request duration.',
      labelNames: ['route'],
      buckets: latencyBuckets,
      registers,
    });
    this.tenantRequests = new Counter({
      name: 'nimbus_tenant_requests_total',
      collect,
      help: 'Inference requests by tenant, model and HTTP status (429: refused by a limit).',
      labelNames: ['tenant', 'model', 'status'],
      registers,
    });
    this.tenantTokens = new Counter({
      name: 'nimbus_tenant_tokens_total',
      collect,
      help: 'Tokens by tenant, model and type (prompt, completion), as the ledger charges them.',
      labelNames: ['tenant', 'model', 'type'],
      registers,
    });
    this.tenantComputeSeconds = new Counter({
      name: 'nimbus_tenant_compute_seconds_total',
      collect,
      help: 'Seconds requests held a device, by tenant and model.',
      labelNames: ['tenant', 'model'],
      registers,
    });
    this.tenantCost = new Counter({
      name: 'nimbus_tenant_cost_usd_total',
      collect,
      help: 'Cost in US dollars, by tenant and model.',
      labelNames: ['tenant', 'model'],
      registers,
    });
    this.appRequests = new Counter({
      name: 'nimbus_app_requests_total',
      collect,
      help: 'Calls of apps by tenant, app, version, the model that served and HTTP status.',
      labelNames: ['tenant', 'app', 'version', 'model', 'status'],
      registers,
    });
    this.appTokens = new Counter({
      name: 'nimbus_app_tokens_total',
      collect,
      help: 'Tokens of apps by tenant, app, version, model and type (prompt, completion).',
      labelNames: ['tenant', 'app', 'version', 'model', 'type'],
      registers,
    });
    this.appCost = new Counter({
      name: 'nimbus_app_cost_usd_total',
      collect,
      help: 'Cost of apps in US dollars, by tenant, app, version and model.',
      labelNames: ['tenant', 'app', 'version', 'model'],
      registers,
    });
    new Gauge({
      name: 'nimbus_queue_depth',
      help: 'Requests waiting for a slot.',
      labelNames: ['engine'],
      registers,
      collect() {
        for (const engine of engines) this.set({ engine: engine.kind }, engine.load().queued);
      },
    });
    new Gauge({
      name: 'nimbus_active_requests',
      help: 'Requests generating now.',
      labelNames: ['engine'],
      registers,
      collect() {
        for (const engine of engines) this.set({ engine: engine.kind }, engine.load().active);
      },
    });
    // Counted by the engines (slot-pool.ts) and read at scrape time, like the gauges above.
    new Counter({
      name: 'nimbus_batch_yields_total',
      help: 'Batch generations asked to give their slot to a waiting interactive request (decision 0017).',
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const engine of engines) {
          const yields = engine.load().batchYields;
          if (yields !== undefined) this.inc({ engine: engine.kind }, yields);
        }
      },
    });
    new Counter({
      name: 'nimbus_batch_resumes_total',
      help: 'Batch generations that took a slot again after yielding, to continue their answer.',
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const engine of engines) {
          const resumes = engine.load().batchResumes;
          if (resumes !== undefined) this.inc({ engine: engine.kind }, resumes);
        }
      },
    });
    new Counter({
      name: 'nimbus_interactive_spare_takes_total',
      help: 'Interactive requests that took a spare slot beside batch generations instead of making one yield (decision 0017).',
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const engine of engines) {
          const takes = engine.load().spareTakes;
          if (takes !== undefined) this.inc({ engine: engine.kind }, takes);
        }
      },
    });
    new Gauge({
      name: 'nimbus_models',
      help: 'Models by state (loading, ready, failed).',
      labelNames: ['model', 'engine', 'state'],
      registers,
      collect() {
        this.reset();
        for (const model of catalog.list()) this.set({ model: model.id, engine: model.engine, state: model.state }, 1);
      },
    });
  }

  /**
   * One finished inference request (a generation or embeddings): requests, duration, tokens and
   * time to first token, overall and by tenant. Label children are looked up once per combination
   * of labels and kept: a plain `inc({labels})` hashes its labels every time, and a request makes
   * nine updates.
   */
  recordRequest(finished: FinishedRequest): void {
    const children = this.childrenOf(finished);
    children.requests.inc();
    children.duration.observe(finished.durationSeconds);
    children.tenantRequests.inc();
    const usage = finished.usage;
    if (usage) {
      children.prompt.inc(usage.prompt_tokens);
      children.completion.inc(usage.completion_tokens);
      children.tenantPrompt.inc(usage.prompt_tokens);
      children.tenantCompletion.inc(usage.completion_tokens);
    }
    if (finished.ttftSeconds !== null) children.ttft.observe(finished.ttftSeconds);
    if (finished.computeSeconds > 0) children.tenantComputeSeconds.inc(finished.computeSeconds);
    if (finished.costNanoUsd > 0) children.tenantCost.inc(finished.costNanoUsd / 1e9);
    const app = children.app;
    if (!app) return;
    app.requests.inc();
    if (usage) {
      app.prompt.inc(usage.prompt_tokens);
      app.completion.inc(usage.completion_tokens);
    }
    if (finished.costNanoUsd > 0) app.cost.inc(finished.costNanoUsd / 1e9);
  }

  /** One error answer (every route, counted where the answer is written). */
  countError(status: number, code: string): void {
    this.errors.inc({ status: String(status), code });
  }

  private readonly children = new Map<string, RequestChildren>();
  /** Every summed counter child of `children`, for `applyPending`. */
  private summed: SummedIncrement[] = [];

  /** Hands the summed increments to prom-client (each request counter calls it before it is read). */
  private applyPending(): void {
    for (const child of this.summed) child.apply();
  }

  /** A counter child whose increments wait in `summed` until the counter is read. */
  private sum(child: Increment): SummedIncrement {
    const summed = new SummedIncrement(child);
    this.summed.push(summed);
    return summed;
  }

  private childrenOf({ route, model, status, tenant, app }: FinishedRequest): RequestChildren {
    const key = app
      ? `${route}\u0000${model}\u0000${status}\u0000${tenant}\u0000${app.id}\u0000${app.version}`
      : `${route}\u0000${model}\u0000${status}\u0000${tenant}`;
    let children = this.children.get(key);
    if (!children) {
      // Names come from served models and tenants, but a bound keeps a flood of either from growing memory.
      if (this.children.size >= maxChildren) {
        this.applyPending();
        this.children.clear();
        this.summed = [];
      }
      children = {
        requests: this.sum(this.requests.labels(route, model, status)),
        duration: this.requestDuration.labels(route),
        prompt: this.sum(this.promptTokens.labels(model)),
        completion: this.sum(this.completionTokens.labels(model)),
        ttft: this.timeToFirstToken.labels(model),
        tenantRequests: this.sum(this.tenantRequests.labels(tenant, model, status)),
        tenantPrompt: this.sum(this.tenantTokens.labels(tenant, model, 'prompt')),
        tenantCompletion: this.sum(this.tenantTokens.labels(tenant, model, 'completion')),
        tenantComputeSeconds: this.sum(this.tenantComputeSeconds.labels(tenant, model)),
        tenantCost: this.sum(this.tenantCost.labels(tenant, model)),
        ...(app
          ? {
              app: {
                requests: this.sum(this.appRequests.labels(tenant, app.id, app.version, model, status)),
                prompt: this.sum(this.appTokens.labels(tenant, app.id, app.version, model, 'prompt')),
                completion: this.sum(this.appTokens.labels(tenant, app.id, app.version, model, 'completion')),
                cost: this.sum(this.appCost.labels(tenant, app.id, app.version, model)),
              },
            }
          : {}),
      };
      this.children.set(key, children);
    }
    return children;
  }
}

const maxChildren = 10_000;

interface Increment {
  inc(value?: number): void;
}

/**
 * A counter's child whose increments are summed in a number until the counter is read: a
 * prom-client child re-hashes and re-validates its labels on every `inc` (~0.6 µs), and a
 * request makes up to eight.
 */
class SummedIncrement implements Increment {
  private pending = 0;

  constructor(private readonly child: Increment) {}

  inc(value = 1): void {
    this.pending += value;
  }

  apply(): void {
    if (this.pending === 0) return;
    this.child.inc(this.pending);
    this.pending = 0;
  }
}

interface Observe {
  observe(value: number): void;
}

interface RequestChildren {
  requests: Increment;
  duration: Observe;
  prompt: Increment;
  completion: Increment;
  ttft: Observe;
  tenantRequests: Increment;
  tenantPrompt: Increment;
  tenantCompletion: Increment;
  tenantComputeSeconds: Increment;
  tenantCost: Increment;
  app?: { requests: Increment; prompt: Increment; completion: Increment; cost: Increment };
}
