/**
 * Prometheus metrics: requests by status, tokens in and out, time to first token and inter-token
 * latency, queue depth and loaded models. Gauges are read from the engines at scrape time, so
 * the hot path only increments counters and observes histograms.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { Engine } from '../core/engine.js';

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
}
