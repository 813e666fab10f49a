/**
 * Prometheus metrics: requests by status, tokens in and out, time to first token and inter-token
 * latency, queue depth and loaded models. Gauges are read from the engines at scrape time, so
 * the hot path only increments counters and observes histograms.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { Engine } from '../core/engine.js';
import type { Usage } from '../core/openai/response-types.js';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const tokenGapBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class Metrics {
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

  constructor(catalog: ModelCatalog, engines: readonly Engine[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'nimbus_process_' });
    this.requests = new Counter({
      name: 'nimbus_requests_total',
      help: 'Requests by route, model and HTTP status.',
      labelNames: ['route', 'model', 'status'],
      registers,
    });
    this.promptTokens = new Counter({ name: 'nimbus_prompt_tokens_total', help: 'Prompt tokens processed.', labelNames: ['model'], registers });
    this.completionTokens = new Counter({ name: 'nimbus_completion_tokens_total', help: 'Tokens generated.', labelNames: ['model'], registers });
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
      help: 'Inference requests by tenant, model and HTTP status (429: refused by a limit).',
      labelNames: ['tenant', 'model', 'status'],
      registers,
    });
    this.tenantTokens = new Counter({
      name: 'nimbus_tenant_tokens_total',
      help: 'Tokens by tenant, model and type (prompt, completion), as the ledger charges them.',
      labelNames: ['tenant', 'model', 'type'],
      registers,
    });
    this.tenantComputeSeconds = new Counter({
      name: 'nimbus_tenant_compute_seconds_total',
      help: 'Seconds requests held a device, by tenant and model.',
      labelNames: ['tenant', 'model'],
      registers,
    });
    this.tenantCost = new Counter({
      name: 'nimbus_tenant_cost_usd_total',
      help: 'Cost in US dollars, by tenant and model.',
      labelNames: ['tenant', 'model'],
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

  /** One request's counters by tenant: the ledger's figures, for Prometheus. */
  recordTenantUsage(tenant: string, model: string, status: string, usage: Usage | undefined, computeSeconds: number, costNanoUsd: number): void {
    this.tenantRequests.labels(tenant, model, status).inc();
    const children = this.tenantChildren(tenant, model);
    if (usage) {
      children.prompt.inc(usage.prompt_tokens);
      children.completion.inc(usage.completion_tokens);
    }
    if (computeSeconds > 0) children.computeSeconds.inc(computeSeconds);
    if (costNanoUsd > 0) children.cost.inc(costNanoUsd / 1e9);
  }

  private readonly tenantCounters = new Map<string, TenantChildren>();

  /** The label children of one tenant and model, looked up once (labels are hashed on every plain `inc`). */
  private tenantChildren(tenant: string, model: string): TenantChildren {
    const key = `${tenant}\u0000${model}`;
    let children = this.tenantCounters.get(key);
    if (!children) {
      children = {
        prompt: this.tenantTokens.labels(tenant, model, 'prompt'),
        completion: this.tenantTokens.labels(tenant, model, 'completion'),
        computeSeconds: this.tenantComputeSeconds.labels(tenant, model),
        cost: this.tenantCost.labels(tenant, model),
      };
      this.tenantCounters.set(key, children);
    }
    return children;
  }
}

interface TenantChildren {
  prompt: { inc(value: number): void };
  completion: { inc(value: number): void };
  computeSeconds: { inc(value: number): void };
  cost: { inc(value: number): void };
}
