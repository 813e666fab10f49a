import { describe, expect, test } from 'vitest';
import type { Engine, ModelStatus } from './engine.js';
import type { NimbusError } from './errors.js';
import { ModelCatalog } from './model-catalog.js';

/** An engine that only lists `statuses` (the catalog never generates). */
function listing(statuses: ModelStatus[]): Engine {
  return { kind: 'llama', models: () => statuses } as unknown as Engine;
}

function refusal(catalog: ModelCatalog): NimbusError {
  try {
    catalog.resolve('anything');
  } catch (error) {
    return error as NimbusError;
  }
  throw new Error('resolve did not refuse');
}

describe('model catalog without a ready model', () => {
  test('nothing on the way: no_model, no Retry-After, not retryable, and the command in the message', () => {
    const catalog = new ModelCatalog([listing([])]);
    catalog.setNoModelAdvice({ reason: 'The default model could not be fetched.', command: 'nimbus pull hf:a/b/c.gguf' });
    const error = refusal(catalog);
    expect([error.status, error.code, error.retryable]).toEqual([503, 'no_model', false]);
    expect(error.headers).toEqual({ 'x-should-retry': 'false' });
    expect(error.message).toBe('No model can serve requests yet. The default model could not be fetched. Add a model with: nimbus pull hf:a/b/c.gguf');
  });

  test('a download or a load under way clears by itself: model_not_ready with Retry-After', () => {
    const downloading = new ModelCatalog([listing([])]);
    downloading.setNoModelAdvice({ reason: 'Downloading the default model.', command: 'nimbus pull hf:a/b/c.gguf', pending: true });
    const loading = new ModelCatalog([listing([{ id: 'm', engine: 'llama', state: 'loading', created: 0 }])]);
    for (const catalog of [downloading, loading]) {
      const error = refusal(catalog);
      expect([error.status, error.code, error.retryable, error.headers['retry-after']]).toEqual([503, 'model_not_ready', true, '5']);
    }
    expect(refusal(downloading).message).toBe('No model can serve requests yet. Downloading the default model.');
  });
});
