import { describe, expect, test } from 'vitest';
import { GgmlType, type GgufHeader, type GgufTensorInfo } from '../gguf/index.js';
import { estimateMemory } from './memory-estimate.js';
import { placeDeployment } from './place-deployment.js';
import type { WorkerSnapshot } from './pool-snapshot.js';

/** A header shaped like a llama model: `layers` blocks of two tensors, plus embeddings and output. */
function llamaHeader(shape: {
  layers: number;
  embedding: number;
  heads: number;
  kvHeads: number;
  vocabulary: number;
  type?: number;
  extra?: [string, number][];
}): GgufHeader {
  const type = shape.type ?? GgmlType.F16;
  const tensors: GgufTensorInfo[] = [
    { name: 'token_embd.weight', dims: [shape.embedding, shape.vocabulary], type: GgmlType.F32, offset: 0 },
    { name: 'output.weight', dims: [shape.embedding, shape.vocabulary], type: GgmlType.Q8_0, offset: 0 },
  ];
  for (let layer = 0; layer < shape.layers; layer += 1) {
    tensors.push({ name: `blk.${layer}.attn_q.weight`, dims: [shape.embedding, shape.embedding], type, offset: 0 });
    tensors.push({ name: `blk.${layer}.ffn_up.weight`, dims: [shape.embedding, shape.embedding * 2], type, offset: 0 });
  }
  const metadata = new Map<string, string | number>([
    ['general.architecture', 'llama'],
    ['llama.block_count', shape.layers],
    ['llama.embedding_length', shape.embedding],
    ['llama.attention.head_count', shape.heads],
    ['llama.attention.head_count_kv', shape.kvHeads],
    ['llama.context_length', 4096],
    ['llama.vocab_size', shape.vocabulary],
    ...(shape.extra ?? []),
  ]);
  return { version: 3, tensorCount: tensors.length, metadata, tensors, alignment: 32, dataOffset: 0, fileSize: 0 };
}

const small = { layers: 4, embedding: 256, heads: 8, kvHeads: 2, vocabulary: 1000 };

describe('estimateMemory', () => {
  test('weights are summed by tensor type, and layers apart from embeddings and output', () => {
    const estimate = estimateMemory(llamaHeader(small), { contextSize: 512, slots: 1 });
    const layerF16 = 4 * (256 * 256 + 256 * 512) * 2;
    expect(estimate.weightsByType).toEqual({ F32: 256 * 1000 * 4, Q8_0: (256 / 32) * 34 * 1000, F16: layerF16 });
    expect(estimate.weightBytes).toBe(256 * 1000 * 4 + 8 * 34 * 1000 + layerF16);
    expect(estimate.nonLayerWeightBytes).toBe(estimate.weightBytes - layerF16);
  });

  test('KV cache is layers x context x slots x KV heads x (key + value) x bytes', () => {
    const estimate = estimateMemory(llamaHeader(small), { contextSize: 1024, slots: 3 });
    expect(estimate.kvCacheBytes).toBe(4 * 1024 * 3 * 2 * (32 + 32) * 2);
  });

  test('grouped-query attention: fewer KV heads, proportionally smaller cache', () => {
    const full = estimateMemory(llamaHeader({ ...small, kvHeads: 8 }), { contextSize: 2048, slots: 1 });
    const grouped = estimateMemory(llamaHeader(small), { contextSize: 2048, slots: 1 });
    expect(full.kvCacheBytes).toBe(grouped.kvCacheBytes * 4);
  });

  test('a missing head_count_kv means as many KV heads as heads, as llama.cpp reads it', () => {
    const header = llamaHeader(small);
    header.metadata.delete('llama.attention.head_count_kv');
    expect(estimateMemory(header, { contextSize: 256, slots: 1 }).kvCacheBytes).toBe(4 * 256 * 8 * 64 * 2);
  });

  test('explicit key and value lengths override embedding / heads', () => {
    const header = llamaHeader({
      ...small,
      extra: [
        ['llama.attention.key_length', 128],
        ['llama.attention.value_length', 64],
      ],
    });
    expect(estimateMemory(header, { contextSize: 256, slots: 1 }).kvCacheBytes).toBe(4 * 256 * 2 * (128 + 64) * 2);
  });

  test('context is padded to 256 cells per slot', () => {
    const padded = estimateMemory(llamaHeader(small), { contextSize: 300, slots: 2 });
    const exact = estimateMemory(llamaHeader(small), { contextSize: 512, slots: 2 });
    expect(padded.kvCacheBytes).toBe(exact.kvCacheBytes);
  });

  test('a quantized cache (1 byte per element) halves the KV cache', () => {
    const f16 = estimateMemory(llamaHeader(small), { contextSize: 4096, slots: 1 });
    const q8 = estimateMemory(llamaHeader(small), { contextSize: 4096, slots: 1, kvBytesPerElement: 1 });
    expect(q8.kvCacheBytes * 2).toBe(f16.kvCacheBytes);
  });

  test('compute buffer grows with context, and much more without flash attention', () => {
    const short = estimateMemory(llamaHeader(small), { contextSize: 512, slots: 1 });
    const long = estimateMemory(llamaHeader(small), { contextSize: 8192, slots: 1 });
    const noFlash = estimateMemory(llamaHeader(small), { contextSize: 8192, slots: 1, flashAttention: false });
    expect(long.computeBytes).toBeGreaterThan(short.computeBytes);
    expect(noFlash.computeBytes).toBeGreaterThan(long.computeBytes * 4);
  });

  test('total is weights + KV + compute; per layer is its weights plus its KV', () => {
    const estimate = estimateMemory(llamaHeader(small), { contextSize: 1024, slots: 2 });
    expect(estimate.totalBytes).toBe(estimate.weightBytes + estimate.kvCacheBytes + estimate.computeBytes);
    const layerWeights = estimate.weightBytes - estimate.nonLayerWeightBytes;
    expect(estimate.perLayerBytes * estimate.layerCount).toBeCloseTo(layerWeights + estimate.kvCacheBytes, 6);
  });

  test('a realistic 8B shape (Llama 3 8B, Q4_K, 8k context, 4 slots) lands near published figures', () => {
    const header = llamaHeader({ layers: 32, embedding: 4096, heads: 32, kvHeads: 8, vocabulary: 128_256, type: GgmlType.Q4_K });
    const estimate = estimateMemory(header, { contextSize: 8192, slots: 4 });
    // 32 layers x 8192 x 4 x 8 heads x 256 x 2 bytes = 4 GiB of KV cache: llama.cpp prints the same for this shape.
    expect(estimate.kvCacheBytes).toBe(4 * 1024 ** 3);
  });

  test('headers that cannot be sized say which key is missing', () => {
    const header = llamaHeader(small);
    header.metadata.delete('llama.block_count');
    expect(() => estimateMemory(header, { contextSize: 512, slots: 1 })).toThrow(/llama\.block_count/);
    expect(() => estimateMemory(llamaHeader(small), { contextSize: 0, slots: 1 })).toThrow(/positive/);
  });
});

describe('estimateMemory: spare slots (decision 0017)', () => {
  test('a spare costs what an ordinary slot costs: cache and compute as for slots + spares', () => {
    const spared = estimateMemory(llamaHeader(small), { contextSize: 1024, slots: 2, spareSlots: 1 });
    const three = estimateMemory(llamaHeader(small), { contextSize: 1024, slots: 3 });
    const two = estimateMemory(llamaHeader(small), { contextSize: 1024, slots: 2 });
    expect(spared.kvCacheBytes).toBe(4 * 1024 * 3 * 2 * (32 + 32) * 2);
    expect(spared.kvCacheBytes - two.kvCacheBytes).toBe(two.kvCacheBytes / 2);
    expect({ ...spared, spareSlots: undefined }).toEqual({ ...three, spareSlots: undefined });
    expect(spared.totalBytes).toBe(spared.weightBytes + spared.kvCacheBytes + spared.computeBytes);
    expect(spared.spareSlots).toBe(1);
  });

  test('no spare, or 0, is the estimate from before spares, and says none', () => {
    const without = estimateMemory(llamaHeader(small), { contextSize: 512, slots: 4 });
    expect(estimateMemory(llamaHeader(small), { contextSize: 512, slots: 4, spareSlots: 0 })).toEqual(without);
    expect(without.spareSlots).toBeUndefined();
  });

  test('several spares, each padded to 256 cells like a slot; the 8B shape gains 1 GiB per spare at 8k context', () => {
    const padded = estimateMemory(llamaHeader(small), { contextSize: 300, slots: 1, spareSlots: 2 });
    expect(padded.kvCacheBytes).toBe(4 * 512 * 3 * 2 * (32 + 32) * 2);
    const header = llamaHeader({ layers: 32, embedding: 4096, heads: 32, kvHeads: 8, vocabulary: 128_256, type: GgmlType.Q4_K });
    const base = estimateMemory(header, { contextSize: 8192, slots: 4 });
    const spared = estimateMemory(header, { contextSize: 8192, slots: 4, spareSlots: 2 });
    expect(spared.kvCacheBytes - base.kvCacheBytes).toBe(2 * 1024 ** 3);
  });

  test('a spare count that is not a whole number is refused', () => {
    expect(() => estimateMemory(llamaHeader(small), { contextSize: 512, slots: 1, spareSlots: -1 })).toThrow(/spareSlots/);
    expect(() => estimateMemory(llamaHeader(small), { contextSize: 512, slots: 1, spareSlots: 0.5 })).toThrow(/spareSlots/);
  });

  test('placement counts the spare: a worker with room for the slots alone is refused, and the refusal names the spare', () => {
    const header = llamaHeader({ layers: 32, embedding: 4096, heads: 32, kvHeads: 8, vocabulary: 128_256, type: GgmlType.Q4_K });
    const base = estimateMemory(header, { contextSize: 8192, slots: 4 });
    const spared = estimateMemory(header, { contextSize: 8192, slots: 4, spareSlots: 1 });
    // RAM between the two: the replica without a spare fits, with one it does not.
    const ramFreeBytes = Math.round((base.totalBytes + spared.totalBytes) / 2);
    const pool: WorkerSnapshot[] = [{ name: 'w1', state: 'ready', ramTotalBytes: ramFreeBytes, ramFreeBytes, gpus: [] }];
    expect(placeDeployment({ name: 'chat', replicas: 1, device: 'cpu', memory: base }, pool).placements).toHaveLength(1);
    const refused = placeDeployment({ name: 'chat', replicas: 1, device: 'cpu', memory: spared }, pool);
    expect(refused.placements).toEqual([]);
    expect(refused.refusal).toMatch(/KV cache [\d.]+ GiB with 1 spare slot, compute/);
    expect(refused.refusal).toMatch(/--spare-slots/);
    const twoSpares = placeDeployment({ name: 'chat', replicas: 1, device: 'cpu', memory: { ...spared, spareSlots: 2 } }, pool);
    expect(twoSpares.refusal).toMatch(/with 2 spare slots,/);
    expect(placeDeployment({ name: 'chat', replicas: 1, device: 'cpu', memory: { ...base, totalBytes: spared.totalBytes } }, pool).refusal).not.toMatch(
      /spare slot/,
    );
  });
});
