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
