/** Starts a real Nimbus (real engine, real SQLite, real port) in this process for a test file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { resolveConfig, type NimbusConfigInput } from '../../src/core/config.js';
import { startNimbus, type RunningNimbus } from '../../src/main.js';
import { storiesPath } from './shared-model.js';

export interface TestServer {
  nimbus: RunningNimbus;
  url: string;
  client: OpenAI;
  home: string;
  stop(): Promise<void>;
}

/** A server serving stories260K as `stories` (threads 1), unless `overrides` say otherwise. */
export async function startTestServer(overrides: NimbusConfigInput = {}): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), 'nimbus-test-'));
  const config = resolveConfig([
    {
      source: 'test',
      values: {
        host: '127.0.0.1',
        port: 0,
        home,
        models: storiesPath ? [{ id: 'stories', source: storiesPath }] : [],
        contextSize: 512,
        slots: 4,
        threads: 1,
        gpu: 'cpu',
        logLevel: process.env.NIMBUS_TEST_LOG ?? 'silent',
        hfEndpoint: 'http://127.0.0.1:9',
        mqttPort: 0,
        ...overrides,
      },
    },
  ]);
  const nimbus = await startNimbus(config);
  await nimbus.modelsSettled;
  return {
    nimbus,
    url: nimbus.url,
    home,
    client: new OpenAI({ baseURL: `${nimbus.url}/v1`, apiKey: 'unused-in-local-mode', maxRetries: 0 }),
    async stop() {
      await nimbus.shutdown(1000);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
