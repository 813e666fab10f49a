/**
 * The Engine contract (src/engines/engine-contract.ts) on every engine: llama.cpp in process, and
 * the OpenAI-compatible upstream engine fronting a real Nimbus (stories260K, threads 1).
 */
import { resolveConfig } from '../src/core/config.js';
import { runEngineContract } from '../src/engines/engine-contract.js';
import { LlamaEngine } from '../src/engines/llama/llama-engine.js';
import { OpenAIEngine } from '../src/engines/openai/openai-engine.js';
import { knownAnswer, skipWithoutSharedModel, storiesPath } from './support/shared-model.js';
import { startTestServer } from './support/test-server.js';

const answer = { prompt: 'Once upon a time', startsWith: knownAnswer.slice(0, 60) };

if (!skipWithoutSharedModel()) {
  runEngineContract('llama (in process)', async () => {
    const engine = new LlamaEngine('cpu');
    await engine.addModel({ id: 'stories', path: storiesPath!, contextSize: 512, slots: 2, threads: 1, gpuLayers: 0, maxQueue: 8 });
    return { engine, model: 'stories', knownAnswer: answer, close: () => engine.close() };
  });

  runEngineContract('openai (an upstream Nimbus)', async () => {
    const upstream = await startTestServer({ mqttUrl: 'off', slots: 2 });
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
      knownAnswer: answer,
      close: async () => {
        await engine.close();
        await upstream.stop();
      },
    };
  });
}
