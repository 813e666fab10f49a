/**
 * The Engine contract (src/engines/engine-contract.ts) on every engine: llama.cpp in process, the
 * OpenAI-compatible upstream engine fronting a real Nimbus (threads 1), and the pool engine of a
 * control plane whose deployment runs on a real `nimbus worker` process (run `npm run build` first). The model is
 * stories260K where ../shared has it, else the tiny random-weight model the repo writes itself
 * (as the rest of the suite falls back), whose known answer is what node-llama-cpp itself
 * generates greedily from it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { resolveConfig } from '../src/core/config.js';
import { runEngineContract } from '../src/engines/engine-contract.js';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { OpenAIEngine } from '../src/engines/openai/openai-engine.js';
import { writeTinyLlamaGguf } from '../src/gguf/index.js';
import { poolAdmin } from './support/pool-admin.js';
import { killWorkerProcesses, startWorkerProcess } from './support/pool-processes.js';
import { knownAnswer, storiesPath } from './support/shared-model.js';
import { startTestServer } from './support/test-server.js';

const prompt = 'Once upon a time';
const folder = mkdtempSync(join(tmpdir(), 'nimbus-engine-contract-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The model file and the start of its greedy continuation of `prompt`. */
const served: Promise<{ path: string; startsWith: string }> = (async () => {
  if (storiesPath) return { path: storiesPath, startsWith: knownAnswer.slice(0, 60) };
  const path = join(folder, 'tiny.gguf');
  await writeTinyLlamaGguf(path, { contextLength: 1024 });
  const { getLlama, LlamaCompletion } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never' });
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  const text = await new LlamaCompletion({ contextSequence: context.getSequence() }).generateCompletion(prompt, { temperature: 0, maxTokens: 24 });
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { path, startsWith: `${prompt}${text}` };
})();

runEngineContract('llama (in process)', async () => {
  const { path, startsWith } = await served;
  const engine = new LlamaEngine('cpu');
  await engine.addModel({ id: 'stories', path, contextSize: 512, slots: 2, threads: 1, gpuLayers: 0, maxQueue: 8 });
  return { engine, model: 'stories', knownAnswer: { prompt, startsWith }, close: () => engine.close() };
});

runEngineContract('openai (an upstream Nimbus)', async () => {
  const { path, startsWith } = await served;
  const upstream = await startTestServer({ mqttUrl: 'off', slots: 2, models: [{ id: 'stories', source: path }] });
  const config = resolveConfig([
    {
      source: 'test',
      values: {
        providers: [{ id: 'nimbus', baseUrl: `${upstream.url}/v1` }],
        upstreamModels: [{ id: 'remote', provider: 'nimbus', upstreamModel: 'stories' }],
      },
    },
  ]);
  const engine = new OpenAIEngine({
    providers: config.providers,
    models: config.upstreamModels,
    retry: config.retry,
    breaker: config.breaker,
    environment: {},
  });
  return {
    engine,
    model: 'remote',
    knownAnswer: { prompt, startsWith },
    close: async () => {
      await engine.close();
      await upstream.stop();
    },
  };
});

runEngineContract('pool (a deployment on a worker process)', async () => {
  const { path, startsWith } = await served;
  const control = await startTestServer({ mqttUrl: 'off', models: [], poolHeartbeatMs: 200 });
  const { call, waitForDeployment } = poolAdmin(() => control.url);
  const { token } = await call<{ token: string }>('POST', '/v1/pool/join-tokens', {});
  await startWorkerProcess('contract-worker', control.url, token);
  await call('POST', '/v1/deployments', { model: path, name: 'stories', device: 'cpu', context_size: 512, slots: 2 });
  await waitForDeployment('stories', (deployment) => deployment.placed.some((replica) => replica.state === 'ready'), 60_000);
  const engine = control.nimbus.poolEngine;
  // The control plane learns the replica is ready at its next heartbeat pass.
  for (let waited = 0; !engine.models().some((status) => status.id === 'stories' && status.state === 'ready'); waited += 50) {
    if (waited > 30_000) throw new Error(`the pool engine never served 'stories': ${JSON.stringify(engine.models())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    engine,
    model: 'stories',
    knownAnswer: { prompt, startsWith },
    close: async () => {
      await control.stop();
      killWorkerProcesses();
    },
  };
});
