/**
 * The Engine contract (src/engines/engine-contract.ts) on every engine: llama.cpp in process, and
 * the OpenAI-compatible upstream engine fronting a real Nimbus (threads 1). The model is
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
