/**
 * How much memory one deployment of a model needs, from its GGUF header alone, before any
 * worker loads it: the weights by tensor type (of every file of a split model: read it with
 * `readGgufModel`), the cache for every slot, spare slots included (`cache-estimate.ts`: full, sliding-window, shared
 * and recurrent layers), and llama.cpp's compute buffer. Placement (`place-deployment.ts`) fits
 * these figures onto workers.
 */
import { ggmlTypeSize, modelFacts, tensorBytes, type GgufHeader } from '../gguf/index.js';
import { estimateCache } from './cache-estimate.js';

/** What the deployment asks of the model; merged over `defaultEstimateOptions`. */
export interface MemoryEstimateOptions {
  /** Tokens of context per slot (node-llama-cpp's `contextSize`: llama.cpp's n_ctx_seq). */
  contextSize: number;
  /** Slots (sequences) served concurrently; each holds its own context of KV cache. */
  slots: number;
  /**
   * Sequences beyond `slots` that only interactive requests take (decision 0017): the context
   * holds them whether used or not, so each costs one slot's cache like any other.
   */
  spareSlots: number;
  /** llama.cpp's micro-batch (n_ubatch): rows of the compute graph evaluated at once. */
  batchSize: number;
  /** Bytes per KV cache element: 2 for the default f16 cache, 1 for q8_0-ish caches. */
  kvBytesPerElement: number;
  /** With flash attention the graph keeps only an f16 mask per context cell, not f32 scores per head. */
  flashAttention: boolean;
}

/** llama.cpp's defaults as node-llama-cpp 3.21 creates a context: f16 cache, n_ubatch 512, flash attention on auto. */
export const defaultEstimateOptions: Omit<MemoryEstimateOptions, 'contextSize' | 'slots'> = {
  spareSlots: 0,
  batchSize: 512,
  kvBytesPerElement: 2,
  flashAttention: true,
};

/** A model's memory needs for one replica, in bytes, split so that placement can offload by layer. */
export interface MemoryEstimate {
  /** Transformer layers; partial offload moves whole layers. */
  layerCount: number;
  /** All tensor data: what `LlamaModel.size` reports once loaded. */
  weightBytes: number;
  /** Weight bytes per ggml type name (`Q4_K`, `F16`, ...), for the explanation. */
  weightsByType: Record<string, number>;
  /** Weights outside the repeating layers (embeddings, output head): they stay with the first device. */
  nonLayerWeightBytes: number;
  /** The cache of every slot, spares included: keys and values of attention layers (a window's worth on sliding-window layers), plus recurrent state. */
  kvCacheBytes: number;
  /** Spare slots counted in `kvCacheBytes` (and the compute buffer); absent: none. */
  spareSlots?: number;
  /** llama.cpp's compute buffer (graph scratch), one per device the model runs on. */
  computeBytes: number;
  /** Weights + cache of one layer, on average: what each offloaded layer takes from a GPU. */
  perLayerBytes: number;
  /** weightBytes + kvCacheBytes + computeBytes: the footprint on a single device. */
  totalBytes: number;
}

// llama.cpp rounds each sequence's KV cells up to a multiple of 256.
const kvCellPadding = 256;

/** Estimates one replica's memory from a GGUF header; throws naming the missing key for headers it cannot size. */
export function estimateMemory(
  header: GgufHeader,
  options: Pick<MemoryEstimateOptions, 'contextSize' | 'slots'> & Partial<MemoryEstimateOptions>,
): MemoryEstimate {
  const settings = { ...defaultEstimateOptions, ...options } satisfies MemoryEstimateOptions;
  if (!(settings.contextSize > 0 && settings.slots > 0))
    throw new Error(`contextSize and slots must be positive, got ${settings.contextSize} and ${settings.slots}`);
  if (!(Number.isInteger(settings.spareSlots) && settings.spareSlots >= 0)) throw new Error(`spareSlots must be a whole number, got ${settings.spareSlots}`);
  // The context has one sequence per slot, spare or not (node-llama-cpp's `sequences`), each with its own cache.
  const sequences = settings.slots + settings.spareSlots;
  const facts = modelFacts(header);

  const weightsByType: Record<string, number> = {};
  let layerWeightBytes = 0;
  for (const tensor of header.tensors) {
    const bytes = tensorBytes(tensor);
    const name = ggmlTypeSize(tensor.type)?.name ?? String(tensor.type);
    weightsByType[name] = (weightsByType[name] ?? 0) + bytes;
    if (tensor.name.startsWith('blk.')) layerWeightBytes += bytes;
  }

  const cells = Math.ceil(settings.contextSize / kvCellPadding) * kvCellPadding;
  // node-llama-cpp's default n_ubatch: the context's tokens, at most 512.
  const batchSize = Math.min(settings.batchSize, settings.contextSize * sequences);
  const cache = estimateCache(header, { contextSize: settings.contextSize, slots: sequences, batchSize, kvBytesPerElement: settings.kvBytesPerElement });
  const kvCacheBytes = cache.kvCacheBytes + cache.recurrentStateBytes;
  const computeBytes = computeBufferBytes(facts.vocabularySize, facts.embeddingLength, facts.headCount, cells, sequences, settings);
  const perLayerBytes = facts.layerCount > 0 ? (layerWeightBytes + kvCacheBytes) / facts.layerCount : 0;
  return {
    layerCount: facts.layerCount,
    weightBytes: facts.weightBytes,
    weightsByType,
    nonLayerWeightBytes: facts.weightBytes - layerWeightBytes,
    kvCacheBytes,
    computeBytes,
    perLayerBytes,
    totalBytes: facts.weightBytes + kvCacheBytes + computeBytes,
    ...(settings.spareSlots > 0 ? { spareSlots: settings.spareSlots } : {}),
  };
}

/**
 * The graph's peak scratch for one micro-batch: logits (f32, vocabulary wide), a few hidden-state
 * rows, and the attention mask (f16 per cell with flash attention; f32 scores per head without).
 * Checked against llama.cpp's "compute buffer size" log line in test/cluster-memory.test.ts.
 */
function computeBufferBytes(vocabulary: number, embedding: number, heads: number, cells: number, sequences: number, settings: MemoryEstimateOptions): number {
  const rows = Math.min(settings.batchSize, cells * sequences);
  const logits = rows * vocabulary * 4;
  const hidden = rows * embedding * 4 * 4;
  const attention = settings.flashAttention ? cells * rows * 2 : cells * rows * (heads * 4 + 2);
  return logits + hidden + attention;
}
