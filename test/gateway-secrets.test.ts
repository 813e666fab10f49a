/**
 * The upstream's API key: read from the environment variable named in config, sent upstream as a
 * Bearer token, and never seen again: not in a response (even when the upstream echoes it), not
 * in a single line the gateway process writes, at any log level. A missing variable stops the
 * server at start with the fix. Needs `npm run build` (the gateway runs from dist/).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../src/core/config.js';
import { FaultUpstream } from './support/fault-upstream.js';
import { startNimbusProcess, type NimbusProcess } from './support/nimbus-process.js';
import { startTestServer } from './support/test-server.js';

const key = 'sk-live-SECRET-3f9a1c7e5b2d4f6a8c0e';

describe('the upstream API key', () => {
  let upstream: FaultUpstream;
  let gateway: NimbusProcess;

  beforeAll(async () => {
    upstream = await FaultUpstream.start();
    const config = join(mkdtempSync(join(tmpdir(), 'nimbus-secrets-')), 'nimbus.json');
    writeFileSync(
      config,
      JSON.stringify({
        providers: [{ id: 'cloud', baseUrl: `${upstream.url}/v1`, apiKeyEnv: 'CLOUD_API_KEY', idleTimeoutMs: 300 }],
        upstreamModels: [{ id: 'm', provider: 'cloud' }],
        retry: { maxAttempts: 1 },
      }),
    );
    gateway = await startNimbusProcess(['--config', config, '--log-level', 'trace'], { CLOUD_API_KEY: key });
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  const chat = (extra: object = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra }),
    });

  test('goes upstream as a Bearer token, with the request id', async () => {
    const response = await chat();
    expect(response.status).toBe(200);
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
    expect(upstream.requests[0]!.headers['x-request-id']).toBe(response.headers.get('x-request-id'));
  });

  test.each([401, 500])('is redacted when the upstream echoes it in a %i', async (status) => {
    upstream.next({ kind: 'echo-auth', status });
    const response = await chat();
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(text).toContain('Incorrect API key provided: Bearer [redacted]');
    expect(text).not.toContain(key);
    expect(JSON.stringify([...response.headers])).not.toContain(key);
  });

  test('appears in no line the process wrote (at trace level), after successes, failures and a broken stream', async () => {
    upstream.next({ kind: 'drop-after', events: 2 });
    await (await chat({ stream: true })).text();
    upstream.next({ kind: 'stall-after', events: 1 });
    await (await chat({ stream: true })).text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gateway.output().match(/"msg":"chat error"/g)).toHaveLength(4);
    expect(gateway.output()).not.toContain(key);
    expect(gateway.output()).not.toContain(key.slice(8));
  });

  test('a missing variable stops the server at start, naming it and the fix', async () => {
    delete process.env.NIMBUS_TEST_MISSING_KEY;
    const start = startTestServer({
      models: [],
      mqttUrl: 'off',
      providers: [{ id: 'p', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'NIMBUS_TEST_MISSING_KEY' }],
    });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(/environment variable NIMBUS_TEST_MISSING_KEY, which is not set\. Set it/);
  });
});
