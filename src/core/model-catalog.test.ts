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

describe('names no engine serves yet', () => {
  test('learn asks lateModels only for a name no engine serves (an alias by what it stands for), and route serves it after', async () => {
    const statuses: ModelStatus[] = [{ id: 'local', engine: 'llama', state: 'ready', created: 0 }];
    const asked: string[] = [];
    const catalog = new ModelCatalog([listing(statuses)], {
      aliases: { fresh: 'made-elsewhere' },
      lateModels: async (model) => {
        asked.push(model);
        if (model !== 'made-elsewhere') return false;
        statuses.push({ id: model, engine: 'llama', state: 'ready', created: 0 });
        return true;
      },
    });
    await catalog.learn('local');
    expect(asked).toEqual([]);
    expect(() => catalog.route('fresh')).toThrow(/which this server does not serve/);
    await catalog.learn('fresh');
    expect(asked).toEqual(['made-elsewhere']);
    expect(catalog.route('fresh').primary.model).toBe('made-elsewhere');
    await catalog.learn('nope');
    expect(asked).toEqual(['made-elsewhere', 'nope']);
    expect(() => catalog.route('nope')).toThrow(/does not exist/);
  });
});
