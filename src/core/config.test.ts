import { describe, expect, test } from 'vitest';
import { coerceValue, ConfigError, resolveConfig } from './config.js';

describe('resolveConfig', () => {
  test('defaults: loopback, port 8080, the default instruct model', () => {
    const config = resolveConfig([]);
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8080);
    expect(config.models).toEqual([]);
    expect(config.defaultModel).toContain('qwen2.5-0.5b-instruct-q4_k_m.gguf');
  });

  test('later layers win: file < environment < flags', () => {
    const config = resolveConfig([
      { source: 'nimbus.json', values: { port: 1, host: '0.0.0.0', slots: 2 } },
      { source: 'environment', values: { port: 2 } },
      { source: 'command-line flags', values: { port: 3 } },
    ]);
    expect(config).toMatchObject({ port: 3, host: '0.0.0.0', slots: 2 });
  });

  test('a bad value names its source and the fix', () => {
    expect(() => resolveConfig([{ source: 'NIMBUS_PORT', values: { port: 'abc' } }])).toThrowError(/'port' \(from NIMBUS_PORT\).*use a port number/);
  });

  test('unknown keys are refused with the known ones listed', () => {
    expect(() => resolveConfig([{ source: 'nimbus.json', values: { prot: 80 } }])).toThrowError(/unknown key 'prot'.*known keys: host, port/);
  });

  test('a bad model entry points into the list', () => {
    expect(() => resolveConfig([{ source: 'nimbus.json', values: { models: [{ source: 'a.gguf', slots: 0 }] } }])).toThrowError(ConfigError);
    expect(() => resolveConfig([{ source: 'nimbus.json', values: { models: [{ source: 'a.gguf', slots: 0 }] } }])).toThrowError(/'models.0.slots'/);
  });

  test('every problem is listed at once', () => {
    expect(() => resolveConfig([{ source: 'x', values: { port: -1, gpu: 'quantum' } }])).toThrowError(/port[\s\S]*gpu/);
  });

  test('coerceValue turns environment strings into typed values', () => {
    expect(coerceValue('port', '9000')).toBe(9000);
    expect(coerceValue('port', 'nine')).toBe('nine');
    expect(coerceValue('port', '')).toBe('');
    expect(coerceValue('models', 'a.gguf, hf:o/r/f.gguf')).toEqual([{ source: 'a.gguf' }, { source: 'hf:o/r/f.gguf' }]);
    expect(coerceValue('host', '0.0.0.0')).toBe('0.0.0.0');
  });
});

describe('upstream providers, models, aliases and fallbacks', () => {
  const layer = (values: Record<string, unknown>) => [{ source: 'nimbus.json', values }];
  const provider = { id: 'gpu-a', baseUrl: 'http://10.0.0.5:8000/v1' };

  test('defaults: timeouts, connections, no forwarded fields, retries and breakers filled in', () => {
    const config = resolveConfig(layer({ providers: [provider], upstreamModels: [{ id: 'llama', provider: 'gpu-a' }] }));
    expect(config.providers[0]).toEqual({
      ...provider,
      headers: {},
      connectTimeoutMs: 5_000,
      firstTokenTimeoutMs: 60_000,
      idleTimeoutMs: 30_000,
      requestTimeoutMs: 600_000,
      maxConnections: 256,
      forwardFields: [],
      maxTokensField: 'max_tokens',
    });
    expect(config.retry).toEqual({ maxAttempts: 3, backoffBaseMs: 50, backoffMaxMs: 2_000, maxRetryAfterMs: 5_000 });
    expect(config.breaker).toEqual({ failureThreshold: 5, openMs: 10_000 });
    expect(config.aliases).toEqual({});
  });

  test('cross-entry mistakes are refused with their place and the fix', () => {
    const refused = () =>
      resolveConfig(
        layer({
          providers: [provider, provider],
          upstreamModels: [{ id: 'llama', provider: 'gpu-b' }],
          aliases: { llama: 'x', fast: 'quick', quick: 'llama' },
          fallbacks: { llama: ['llama'] },
        }),
      );
    expect(refused).toThrowError(/'providers.1.id'.*used twice/);
    expect(refused).toThrowError(/'upstreamModels.0.provider'.*no provider has id 'gpu-b'; known providers: gpu-a/);
    expect(refused).toThrowError(/'aliases.llama'.*already a model name/);
    expect(refused).toThrowError(/'aliases.fast'.*itself an alias/);
    expect(refused).toThrowError(/'fallbacks.llama'.*lists itself/);
  });

  test('an API key is named by its variable, never given: a bad name is refused', () => {
    expect(() => resolveConfig(layer({ providers: [{ ...provider, apiKeyEnv: 'sk-live-123' }] }))).toThrowError(/apiKeyEnv.*environment variable name/);
    expect(() => resolveConfig(layer({ providers: [{ ...provider, apiKey: 'sk-live-123' }] }))).toThrowError(/unknown key 'apiKey'/);
  });

  test('routing: a policy per model name, agreed by its replicas; block size bounded', () => {
    const second = { ...provider, id: 'gpu-b' };
    const both = (routingA: string, routingB?: string) =>
      resolveConfig(
        layer({
          providers: [provider, second],
          upstreamModels: [
            { id: 'llama', provider: 'gpu-a', routing: routingA },
            { id: 'llama', provider: 'gpu-b', ...(routingB ? { routing: routingB } : {}) },
          ],
        }),
      );
    expect(both('prefix-cache').upstreamModels[0]!.routing).toBe('prefix-cache');
    expect(both('prefix-cache', 'prefix-cache').routing.prefixBlockChars).toBe(2048);
    expect(() => both('prefix-cache', 'round-robin')).toThrowError(/'upstreamModels.1.routing'.*routed 'prefix-cache' on another entry/);
    expect(() => both('fastest')).toThrowError(/'upstreamModels.0.routing'/);
    expect(() => resolveConfig(layer({ routing: { prefixBlockChars: 4 } }))).toThrowError(/'routing.prefixBlockChars'/);
    expect(both('prefix-cache', 'prefix-cache').routing.workerCacheReports).toBe(false);
    expect(resolveConfig(layer({ routing: { workerCacheReports: true } })).routing.workerCacheReports).toBe(true);
  });

  test('a base URL must be http or https', () => {
    expect(() => resolveConfig(layer({ providers: [{ ...provider, baseUrl: 'ftp://x/v1' }] }))).toThrowError(/'providers.0.baseUrl'/);
  });
});
