/**
 * The memory estimate against what llama.cpp itself allocates after loading stories260K:
 * `LlamaModel.size` for the weights, and the sizes llama.cpp logs for its KV buffer and compute
 * buffer (it logs them from the buffers it actually allocated). Tolerances: weights and KV cache
 * within 1%, the compute buffer within 15% (it is a heuristic of the graph's peak scratch).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { estimateMemory } from '../src/cluster/memory-estimate.js';
import { readGgufHeader } from '../src/gguf/index.js';
import { skipWithoutSharedModel, storiesPath } from './support/shared-model.js';

const mebibyte = 1024 * 1024;
const skip = skipWithoutSharedModel();

describe.skipIf(skip)('memory estimate vs node-llama-cpp (stories260K)', () => {
  const logs: string[] = [];
  let llama: Llama;
  let model: LlamaModel;

  beforeAll(async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.debug, logger: (_level, message) => logs.push(message) });
    model = await llama.loadModel({ modelPath: storiesPath!, gpuLayers: 0 });
  });
  afterAll(async () => {
    await model?.dispose();
    await llama?.dispose();
  });

  /** The MiB figure of the last log line matching `pattern`. */
  const logged = (pattern: RegExp): number => {
    const line = logs.filter((message) => pattern.test(message)).at(-1);
    const match = line && /=\s*([\d.]+) MiB/.exec(line);
    if (!match) throw new Error(`llama.cpp logged no line matching ${pattern}`);
    return Number(match[1]) * mebibyte;
  };

  test('weights match LlamaModel.size', async () => {
    const estimate = estimateMemory(await readGgufHeader(storiesPath!), { contextSize: 512, slots: 1 });
    expect(Math.abs(estimate.weightBytes - model.size) / model.size).toBeLessThan(0.01);
  });

  for (const [contextSize, slots] of [
    [512, 1],
    [8192, 4],
    [32768, 2],
  ] as const) {
    test(`KV cache and compute buffer at context ${contextSize} x ${slots} slots`, async () => {
      const context = await model.createContext({ contextSize, sequences: slots, threads: 1 });
      try {
        const estimate = estimateMemory(await readGgufHeader(storiesPath!), { contextSize, slots });
        const kv = logged(/KV buffer size/);
        const compute = logged(/compute buffer size =/);
        expect(Math.abs(estimate.kvCacheBytes - kv) / kv).toBeLessThan(0.01);
        expect(Math.abs(estimate.computeBytes - compute) / compute).toBeLessThan(0.15);
      } finally {
        await context.dispose();
      }
    });
  }
});
