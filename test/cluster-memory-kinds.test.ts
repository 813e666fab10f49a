/**
 * The cache part of the memory estimate against node-llama-cpp 3.21's own `GgufInsights`, on
 * GGUF headers of model kinds the repo writes itself (tiny tensors, real metadata keys): plain
 * attention with grouped KV heads, sliding-window attention (gemma2, gemma3, gpt-oss with SWA
 * head sizes), MLA (deepseek2's compressed cache), KV shared between layers (gemma3n), recurrent
 * models (mamba, rwkv6) and hybrids (jamba, qwen3next). And a model split over three files is
 * counted whole, where its first file alone undercounts it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { estimateCache } from '../src/cluster/cache-estimate.js';
import { estimateMemory } from '../src/cluster/memory-estimate.js';
import { GgmlType, GgufValueType, readGgufHeader, readGgufModel, writeGguf, type GgufEntry, type GgufTensorData } from '../src/gguf/index.js';

const folder = mkdtempSync(join(tmpdir(), 'nimbus-memory-kinds-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

type Metadata = Record<string, number | number[] | string>;

/** Header entries: numbers as uint32, lists as arrays of int32, strings as strings; keys without a dot get the architecture's prefix. */
function entries(architecture: string, metadata: Metadata): GgufEntry[] {
  const list: GgufEntry[] = [{ key: 'general.architecture', type: GgufValueType.String, value: architecture }];
  for (const [name, value] of Object.entries(metadata)) {
    const key = name.startsWith('general.') || name.startsWith('split.') ? name : `${architecture}.${name}`;
    if (Array.isArray(value)) list.push({ key, type: GgufValueType.Array, itemType: GgufValueType.Int32, value });
    else if (typeof value === 'string') list.push({ key, type: GgufValueType.String, value });
    else list.push({ key, type: GgufValueType.Uint32, value });
  }
  return list;
}

/** A small f32 tensor. */
const tensor = (name: string, elements = 64): GgufTensorData => ({ name, dims: [elements], type: GgmlType.F32, data: new Uint8Array(elements * 4) });

async function writeModel(name: string, architecture: string, metadata: Metadata): Promise<string> {
  const path = join(folder, `${name}.gguf`);
  const layers = Number(metadata.block_count);
  const tensors = [tensor('token_embd.weight'), ...Array.from({ length: layers }, (_, layer) => tensor(`blk.${layer}.attn_q.weight`))];
  await writeGguf(path, entries(architecture, { vocab_size: 32000, ...metadata }), tensors);
  return path;
}

/** node-llama-cpp's KV cache and recurrent state for a context on the CPU, as its insights estimate them. */
async function insightsCache(path: string, contextSize: number, sequences: number): Promise<number> {
  const { GgufInsights, readGgufFileInfo } = await import('node-llama-cpp');
  const insights = await GgufInsights.from(await readGgufFileInfo(path, { logWarnings: false }));
  // The cache split is internal to the insights; the public estimate adds graph and output
  // buffers on top. It is read by wrapping the method the public estimate calls (3.21.1, pinned).
  const internal = insights as unknown as {
    _estimateContextCacheMemorySplitInBytes: (options: object) => { cpuKVCacheSize: number; cpuRecurrentStateSize: number };
  };
  const original = internal._estimateContextCacheMemorySplitInBytes.bind(insights);
  let cache = Number.NaN;
  internal._estimateContextCacheMemorySplitInBytes = (options) => {
    const split = original(options);
    cache = split.cpuKVCacheSize + split.cpuRecurrentStateSize;
    return split;
  };
  insights.estimateContextResourceRequirements({
    contextSize,
    sequences,
    modelGpuLayers: 0,
    batchSize: Math.min(512, contextSize * sequences),
    flashAttention: true,
  });
  return cache;
}

const common = { context_length: 131072, embedding_length: 2048, block_count: 12, 'attention.head_count': 16 };
const kinds: Array<[string, string, Metadata]> = [
  ['grouped-query attention', 'llama', { ...common, 'attention.head_count_kv': 4 }],
  ['gemma2: every other layer a 4096-token window', 'gemma2', { ...common, 'attention.head_count_kv': 8, 'attention.sliding_window': 4096 }],
  [
    'gemma3: five window layers to one global',
    'gemma3',
    { ...common, 'attention.head_count_kv': 4, 'attention.key_length': 256, 'attention.value_length': 256, 'attention.sliding_window': 1024 },
  ],
  [
    'gpt-oss: window layers with their own head sizes',
    'gpt-oss',
    { ...common, 'attention.head_count_kv': 8, 'attention.sliding_window': 128, 'attention.key_length_swa': 32, 'attention.value_length_swa': 32 },
  ],
  [
    'deepseek2 MLA: one compressed KV head',
    'deepseek2',
    {
      ...common,
      'attention.head_count_kv': 1,
      'attention.key_length': 576,
      'attention.value_length': 512,
      'attention.kv_lora_rank': 512,
      'attention.key_length_mla': 192,
      'attention.value_length_mla': 128,
    },
  ],
  [
    'gemma3n: the last 4 layers share the cache',
    'gemma3n',
    { ...common, 'attention.head_count_kv': 2, 'attention.sliding_window': 512, 'attention.shared_kv_layers': 4 },
  ],
  [
    'mamba: recurrent state only',
    'mamba',
    { ...common, 'attention.head_count': 0, 'ssm.conv_kernel': 4, 'ssm.inner_size': 4096, 'ssm.state_size': 16, 'ssm.time_step_rank': 128 },
  ],
  ['rwkv6: token shift and wkv state', 'rwkv6', { ...common, 'attention.head_count': 0, 'wkv.head_size': 64, token_shift_count: 2 }],
  [
    'jamba: attention every fourth layer, SSM elsewhere',
    'jamba',
    { ...common, 'attention.head_count_kv': [0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8], 'ssm.conv_kernel': 4, 'ssm.inner_size': 4096, 'ssm.state_size': 16 },
  ],
  [
    'qwen3next: full attention every fourth layer, linear attention elsewhere',
    'qwen3next',
    {
      ...common,
      'attention.head_count_kv': 2,
      'attention.key_length': 256,
      'attention.value_length': 256,
      full_attention_interval: 4,
      'ssm.conv_kernel': 4,
      'ssm.inner_size': 4096,
      'ssm.state_size': 128,
      'ssm.group_count': 16,
    },
  ],
];

describe('the cache of each model kind matches node-llama-cpp’s insights', () => {
  test.each(kinds)('%s', async (_kind, architecture, metadata) => {
    const path = await writeModel(architecture, architecture, metadata);
    const header = await readGgufHeader(path);
    for (const [contextSize, slots] of [
      [8192, 1],
      [32768, 4],
      [2048, 8],
    ] as const) {
      const ours = estimateMemory(header, { contextSize, slots }).kvCacheBytes;
      expect(ours).toBe(await insightsCache(path, contextSize, slots));
    }
  });

  test('a window, MLA, shared layers and recurrent layers each cost less than plain attention over the whole context would', async () => {
    const plain = (metadata: Metadata) =>
      estimateCache({ metadata: new Map(entries('llama', metadata).map((entry) => [entry.key, entry.value as never])), tensors: [] } as never, {
        contextSize: 32768,
        slots: 4,
        batchSize: 512,
        kvBytesPerElement: 2,
      });
    const byKind = async (architecture: string) => {
      const [, , metadata] = kinds.find((kind) => kind[1] === architecture)!;
      return estimateCache(await readGgufHeader(await writeModel(`${architecture}-compare`, architecture, metadata)), {
        contextSize: 32768,
        slots: 4,
        batchSize: 512,
        kvBytesPerElement: 2,
      });
    };
    const gemma2 = await byKind('gemma2');
    expect(gemma2.layers).toEqual({ full: 6, slidingWindow: 6, recurrent: 0, shared: 0 });
    expect(gemma2.slidingWindow).toBe(4096);
    expect(gemma2.kvCacheBytes).toBeLessThan(plain({ ...common, 'attention.head_count_kv': 8 }).kvCacheBytes * 0.6);
    // MLA: 576 + 512 values per token and layer, where 16 heads of 192 + 128 would be 5120.
    const mla = await byKind('deepseek2');
    expect(mla.kvCacheBytes).toBe(12 * 32768 * 4 * (576 + 512) * 2);
    expect((await byKind('gemma3n')).layers.shared).toBe(4);
    const jamba = await byKind('jamba');
    expect(jamba.layers).toEqual({ full: 3, slidingWindow: 0, recurrent: 9, shared: 0 });
    expect((await byKind('mamba')).kvCacheBytes).toBe(0);
  });
});

describe('a model split over several files', () => {
  test('is read and sized whole; its first file alone undercounts it; a missing part is named', async () => {
    const tensors = Array.from({ length: 9 }, (_, index) => tensor(`blk.${index}.ffn_up.weight`, 4096));
    const metadata = entries('llama', { ...common, block_count: 9, vocab_size: 32000 });
    const whole = join(folder, 'whole.gguf');
    await writeGguf(whole, metadata, tensors);
    const split = (part: number): string => join(folder, `big-${String(part).padStart(5, '0')}-of-00003.gguf`);
    for (let part = 1; part <= 3; part += 1) {
      const splitEntries: GgufEntry[] = [
        ...(part === 1 ? metadata : []),
        { key: 'split.no', type: GgufValueType.Uint16, value: part - 1 },
        { key: 'split.count', type: GgufValueType.Uint16, value: 3 },
        { key: 'split.tensors.count', type: GgufValueType.Int32, value: 9 },
      ];
      await writeGguf(split(part), splitEntries, tensors.slice((part - 1) * 3, part * 3));
    }
    const options = { contextSize: 4096, slots: 1 };
    const expected = estimateMemory(await readGgufHeader(whole), options).weightBytes;
    const model = await readGgufModel(split(1));
    expect(model.parts).toHaveLength(3);
    expect(estimateMemory(model, options).weightBytes).toBe(expected);
    expect(estimateMemory(await readGgufHeader(split(1)), options).weightBytes).toBeLessThan(expected / 2);
    // node-llama-cpp reads the parts the same way.
    const { readGgufFileInfo } = await import('node-llama-cpp');
    expect((await readGgufFileInfo(split(1), { logWarnings: false })).fullTensorInfo).toHaveLength(9);
    rmSync(split(2));
    await expect(readGgufModel(split(1))).rejects.toThrow(/part 2 of 3 of this split model is missing/);
  });
});
