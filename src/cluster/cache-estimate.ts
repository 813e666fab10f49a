/**
 * What a context keeps per layer besides the weights, layer by layer as llama.cpp allocates it
 * (`llama_kv_cache`, `llama_memory_recurrent`) and node-llama-cpp 3.21's `GgufInsights` estimates
 * it: full-attention layers hold keys and values for every cell of every slot; sliding-window
 * layers only for the window (gemma2/3, llama4, gpt-oss, cohere2 ... by their pattern); layers
 * that share another's cache (gemma3n) hold none; recurrent layers (mamba, rwkv, and the SSM
 * layers of hybrids such as jamba, lfm2, qwen3next) hold a fixed state per slot. MLA models
 * (deepseek2) declare their compressed key and value lengths and one KV head, so the same sum
 * covers them. Pure: reads the header's metadata only.
 */
import type { GgufHeader, GgufValue } from '../gguf/index.js';

/** What one context asks of the model. */
export interface CacheSettings {
  /** Tokens of context per slot. */
  contextSize: number;
  slots: number;
  /** n_ubatch: a sliding-window cache keeps a batch beyond the window. */
  batchSize: number;
  /** Bytes per key or value element: 2 for f16. */
  kvBytesPerElement: number;
}

/** The cache of one context, in bytes, and how its layers split. */
export interface CacheEstimate {
  /** Keys and values of attention layers. */
  kvCacheBytes: number;
  /** Recurrent state of SSM/RWKV layers (f32, one per slot). */
  recurrentStateBytes: number;
  /** Per layer, in order: what each holds. */
  layerBytes: number[];
  layers: { full: number; slidingWindow: number; recurrent: number; shared: number };
  /** The window of sliding-window layers, where the model has one that is smaller than the context. */
  slidingWindow?: number;
}

// llama.cpp pads each sequence's cells, and the sliding-window cache, to a multiple of 256.
const cellPadding = 256;
const pad = (value: number): number => Math.ceil(value / cellPadding) * cellPadding;

/** Architectures whose every layer is recurrent (llama.cpp's `llm_arch_is_recurrent`). */
const recurrentArchitectures = new Set(['mamba', 'mamba2', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7']);

/** The sliding-window pattern llama.cpp sets per architecture: every `n`th layer is dense (`denseFirst`: the first of each `n`). */
const swaPatterns: Record<string, [number, boolean]> = {
  llama4: [4, false],
  afmoe: [4, false],
  'modern-bert': [3, true],
  phi3: [1, false],
  plamo3: [8, false],
  gemma2: [2, false],
  gemma3: [6, false],
  gemma3n: [5, false],
  'gemma-embedding': [6, false],
  cohere2: [4, false],
  olmo2: [4, false],
  exaone4: [4, false],
  'exaone-moe': [4, false],
  'gpt-oss': [2, false],
  smallthinker: [4, true],
};

/** Estimates the cache of one context of the model in `header`. */
export function estimateCache(header: GgufHeader, settings: CacheSettings): CacheEstimate {
  const architecture = String(header.metadata.get('general.architecture') ?? '');
  const value = (key: string): GgufValue | undefined => header.metadata.get(`${architecture}.${key}`);
  const scalar = (key: string): number | undefined => numberOf(value(key));
  const layerCount = scalar('block_count') ?? 0;
  const headCount = scalar('attention.head_count') ?? 0;
  const embedding = scalar('embedding_length') ?? 0;
  const headSize = headCount > 0 ? embedding / headCount : 0;
  const keyLength = scalar('attention.key_length') ?? headSize;
  const valueLength = scalar('attention.value_length') ?? headSize;
  const keyLengthSwa = scalar('attention.key_length_swa');
  const valueLengthSwa = scalar('attention.value_length_swa');
  const kvHeads = perLayer(value('attention.head_count_kv'));
  const kvHeadsOf = (layer: number): number => (typeof kvHeads === 'number' ? kvHeads : (kvHeads?.[layer] ?? headCount));
  const sharedKvLayers = scalar('attention.shared_kv_layers') ?? 0;
  const trainContext = scalar('context_length');

  const window = scalar('attention.sliding_window') ?? 0;
  const hasWindow = window > 0 && (trainContext === undefined || window < trainContext);
  const cells = pad(settings.contextSize) * settings.slots;
  const reduced = hasWindow && window < settings.contextSize;
  const windowCells = reduced ? Math.min(cells, pad(settings.slots * window + settings.batchSize + 1)) : cells;
  const isSwaLayer = swaLayerTest(architecture, value('attention.sliding_window_pattern'));
  const isRecurrent = recurrentLayerTest(architecture, kvHeads, value('feed_forward_length'), scalar('full_attention_interval'));
  const stateBytes = recurrentStateBytesPerSlot(scalar, headCount, embedding);

  const estimate: CacheEstimate = {
    kvCacheBytes: 0,
    recurrentStateBytes: 0,
    layerBytes: [],
    layers: { full: 0, slidingWindow: 0, recurrent: 0, shared: 0 },
    ...(hasWindow ? { slidingWindow: window } : {}),
  };
  for (let layer = 0; layer < layerCount; layer += 1) {
    if (isRecurrent(layer)) {
      const bytes = stateBytes * Math.max(1, settings.slots);
      estimate.recurrentStateBytes += bytes;
      estimate.layerBytes.push(bytes);
      estimate.layers.recurrent += 1;
      continue;
    }
    if (sharedKvLayers > 0 && layer >= Math.max(0, layerCount - sharedKvLayers)) {
      estimate.layerBytes.push(0);
      estimate.layers.shared += 1;
      continue;
    }
    const swa = hasWindow && isSwaLayer(layer);
    const layerCells = swa ? windowCells : cells;
    const keys = (swa && keyLengthSwa !== undefined ? keyLengthSwa : keyLength) * kvHeadsOf(layer);
    const values = (swa && valueLengthSwa !== undefined ? valueLengthSwa : valueLength) * kvHeadsOf(layer);
    const bytes = layerCells * (keys + values) * settings.kvBytesPerElement;
    estimate.kvCacheBytes += bytes;
    estimate.layerBytes.push(bytes);
    if (swa) estimate.layers.slidingWindow += 1;
    else estimate.layers.full += 1;
  }
  return estimate;
}

/** Which layers use the sliding window: a per-layer array, a pattern number, or the architecture's own pattern. */
function swaLayerTest(architecture: string, pattern: GgufValue | undefined): (layer: number) => boolean {
  const flags = perLayer(pattern);
  if (Array.isArray(flags)) return (layer) => Boolean(flags[layer]);
  const [defaultEvery, denseFirst] = swaPatterns[architecture] ?? [1, false];
  const every = typeof flags === 'number' ? Math.max(0, Math.floor(flags)) : defaultEvery;
  if (every === 0) return () => true;
  return denseFirst ? (layer) => layer % every !== 0 : (layer) => layer % every < every - 1;
}

/** Which layers are recurrent: all of a recurrent architecture's, else a hybrid's by its head counts or attention interval. */
function recurrentLayerTest(
  architecture: string,
  kvHeads: number | number[] | undefined,
  feedForward: GgufValue | undefined,
  fullAttentionInterval: number | undefined,
): (layer: number) => boolean {
  if (recurrentArchitectures.has(architecture) || architecture === 'falcon-h1') return () => true;
  const zeroHeads = Array.isArray(kvHeads) && kvHeads.some((heads) => heads === 0);
  if (architecture === 'nemotron_h' || architecture === 'nemotron_h_moe') {
    const ff = perLayer(feedForward);
    const ffOf = (layer: number): number | undefined => (typeof ff === 'number' ? ff : ff?.[layer]);
    if (Array.isArray(kvHeads)) return (layer) => kvHeads[layer] === 0 && ffOf(layer) === 0;
    if (kvHeads === 0) return () => typeof ff === 'number' && ff === 0;
  }
  const intervalArchitectures = new Set(['qwen3next', 'qwen35', 'qwen35moe']);
  if (fullAttentionInterval !== undefined && fullAttentionInterval > 0 && (intervalArchitectures.has(architecture) || zeroHeads)) {
    const interval = Math.max(1, Math.floor(fullAttentionInterval));
    return (layer) => (layer + 1) % interval !== 0;
  }
  if (Array.isArray(kvHeads) && zeroHeads) return (layer) => kvHeads[layer] === 0;
  return () => false;
}

/** llama.cpp's `n_embd_r + n_embd_s` for one recurrent layer and slot, as f32. */
function recurrentStateBytesPerSlot(scalar: (key: string) => number | undefined, headCount: number, embedding: number): number {
  const wkvHeadSize = scalar('wkv.head_size') ?? 0;
  const tokenShiftCount = scalar('token_shift_count') ?? 0;
  const convKernel = scalar('ssm.conv_kernel') ?? 0;
  const innerSize = scalar('ssm.inner_size') ?? 0;
  const stateSize = scalar('ssm.state_size') ?? 0;
  const groupCount = scalar('ssm.group_count') ?? 0;
  const shortConvCache = scalar('shortconv.l_cache') ?? 0;
  const kdaHeadDim = scalar('kda.head_dim') ?? 0;
  const rolling =
    wkvHeadSize !== 0
      ? tokenShiftCount * embedding
      : shortConvCache !== 0
        ? embedding * Math.max(0, shortConvCache - 1)
        : kdaHeadDim !== 0
          ? 3 * (convKernel > 0 ? convKernel - 1 : 3) * headCount * kdaHeadDim
          : (convKernel > 0 ? convKernel - 1 : 0) * (innerSize + 2 * groupCount * stateSize);
  const state = wkvHeadSize !== 0 ? embedding * wkvHeadSize : kdaHeadDim !== 0 ? kdaHeadDim * kdaHeadDim * headCount : stateSize * innerSize;
  return (rolling + state) * 4;
}

/** A number, or one per layer. */
function perLayer(value: GgufValue | undefined): number | number[] | undefined {
  if (typeof value === 'object' && !value.truncated) return value.items.map((item) => numberOf(item) ?? 0);
  return numberOf(value);
}

function numberOf(value: GgufValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return Number(value);
  return undefined;
}
