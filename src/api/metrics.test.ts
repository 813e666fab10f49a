import { expect, test } from 'vitest';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { FinishedRequest } from '../tenancy/accounting/sinks.js';
import { Metrics } from './metrics.js';

const catalog = { list: () => [] } as unknown as ModelCatalog;

function finished(overrides: Partial<FinishedRequest> = {}): FinishedRequest {
  return {
    route: 'chat',
    model: 'm',
    status: '200',
    tenant: 'default',
    durationSeconds: 0.02,
    usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
    ttftSeconds: 0.01,
    computeSeconds: 0.5,
    costNanoUsd: 2_000,
    ...overrides,
  };
}

test('summed increments reach the exposition at every read, per label combination, and only once', async () => {
  const metrics = new Metrics(catalog, []);
  metrics.recordRequest(finished());
  metrics.recordRequest(finished());
  metrics.recordRequest(finished({ status: '429', usage: undefined, ttftSeconds: null, computeSeconds: 0, costNanoUsd: 0, tenant: 'acme' }));
  let text = await metrics.registry.metrics();
  expect(text).toContain('nimbus_requests_total{route="chat",model="m",status="200"} 2');
  expect(text).toContain('nimbus_requests_total{route="chat",model="m",status="429"} 1');
  expect(text).toContain('nimbus_prompt_tokens_total{model="m"} 18');
  expect(text).toContain('nimbus_completion_tokens_total{model="m"} 10');
  expect(text).toContain('nimbus_tenant_requests_total{tenant="acme",model="m",status="429"} 1');
  expect(text).toContain('nimbus_tenant_tokens_total{tenant="default",model="m",type="prompt"} 18');
  expect(text).toContain('nimbus_tenant_compute_seconds_total{tenant="default",model="m"} 1');
  expect(text).toContain('nimbus_tenant_cost_usd_total{tenant="default",model="m"} 0.000004');
  expect(text).toContain('nimbus_request_duration_seconds_count{route="chat"} 3');
  expect(text).toContain('nimbus_time_to_first_token_seconds_count{model="m"} 2');
  // A second read adds nothing; a new request adds exactly itself.
  text = await metrics.registry.metrics();
  expect(text).toContain('nimbus_requests_total{route="chat",model="m",status="200"} 2');
  metrics.recordRequest(finished());
  text = await metrics.registry.metrics();
  expect(text).toContain('nimbus_requests_total{route="chat",model="m",status="200"} 3');
  expect(text).toContain('nimbus_prompt_tokens_total{model="m"} 27');
});
