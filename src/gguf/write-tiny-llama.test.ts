import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaCompletion, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GgufArray } from './gguf-types.js';
import { modelFacts } from './model-facts.js';
import { readGgufHeader } from './read-gguf.js';
import { writeTinyLlamaGguf } from './write-tiny-llama.js';

describe('writeTinyLlamaGguf', () => {
  let directory: string;
  let modelPath: string;
  let llama: Llama | undefined;
  let model: LlamaModel | undefined;
  let context: LlamaContext | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'nimbus-tiny-llama-'));
    modelPath = join(directory, 'tiny.gguf');
    await writeTinyLlamaGguf(modelPath);
  });
  afterAll(async () => {
    await context?.dispose();
    await model?.dispose();
    await llama?.dispose();
    await rm(directory, { recursive: true, force: true });
  });

  test('reads back as the requested llama shape', async () => {
    const header = await readGgufHeader(modelPath);
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(32);
    expect(header.tensorCount).toBe(3 + 2 * 9);
    expect(header.metadata.get('tokenizer.ggml.model')).toBe('llama');
    expect((header.metadata.get('tokenizer.ggml.tokens') as GgufArray).items.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(header.tensors.find((tensor) => tensor.name === 'blk.1.attn_k.weight')?.dims).toEqual([64, 32]);
    expect(header.tensors.find((tensor) => tensor.name === 'blk.1.ffn_down.weight')?.dims).toEqual([128, 64]);

    const facts = modelFacts(header);
    expect(facts).toMatchObject({ architecture: 'llama', layerCount: 2, embeddingLength: 64, headCount: 4, keyValueHeadCount: 2, contextLength: 256 });
    expect(facts.vocabularySize).toBeGreaterThan(259);
    expect(header.fileSize - header.dataOffset - facts.weightBytes).toBe(0);
  });

  test('the same options give byte-identical files; another seed does not', async () => {
    const again = join(directory, 'again.gguf');
    const reseeded = join(directory, 'reseeded.gguf');
    await writeTinyLlamaGguf(again);
    await writeTinyLlamaGguf(reseeded, { seed: 7 });
    const first = await readFile(modelPath);
    expect(first.equals(await readFile(again))).toBe(true);
    expect(first.equals(await readFile(reseeded))).toBe(false);
  });

  test('node-llama-cpp loads it and generates 8 tokens at temperature 0', async () => {
    llama = await getLlama({ gpu: false, build: 'never' });
    model = await llama.loadModel({ modelPath });
    context = await model.createContext({ contextSize: 128, threads: 1 });
    const sequence = context.getSequence();
    const completion = new LlamaCompletion({ contextSequence: sequence });
    const text = await completion.generateCompletion('the cat and the dog', { maxTokens: 8, temperature: 0 });
    expect(sequence.tokenMeter.getState().usedOutputTokens).toBe(8);
    // Unprintable tokens are silenced in output.weight, so the noise is plain ASCII text.
    expect(text).toMatch(/^[\x20-\x7e]+$/);
  });

  test('rejects shapes llama.cpp cannot run', async () => {
    const path = join(directory, 'bad.gguf');
    await expect(writeTinyLlamaGguf(path, { embeddingLength: 60, headCount: 8 })).rejects.toThrow(/multiple of headCount/);
    await expect(writeTinyLlamaGguf(path, { headCount: 4, keyValueHeadCount: 3 })).rejects.toThrow(/multiple of keyValueHeadCount/);
    await expect(writeTinyLlamaGguf(path, { layerCount: 0 })).rejects.toThrow(/layerCount must be a positive integer/);
  });
});
