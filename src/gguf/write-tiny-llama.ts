/**
 * Writes a tiny random-weight Llama model (F32 GGUF v3) that llama.cpp loads and runs. It lets
 * tests exercise a real engine without shipping weights; its output is noise, never an answer.
 */
import { GgmlType } from './ggml-type.js';
import { GgufValueType } from './gguf-types.js';
import { seededRandom } from './seeded-random.js';
import { tinyVocabulary } from './tiny-llama-vocabulary.js';
import { writeGguf, type GgufEntry, type GgufTensorData } from './write-gguf.js';

/** The model's shape and seed; merged over `defaultTinyLlamaOptions`. */
export interface TinyLlamaOptions {
  /** Same seed and shape, same bytes. */
  seed: number;
  name: string;
  embeddingLength: number;
  layerCount: number;
  headCount: number;
  /** Fewer key/value heads than heads makes it grouped-query attention, as in most current models. */
  keyValueHeadCount: number;
  feedForwardLength: number;
  contextLength: number;
}

/** 64 wide, 2 layers, 4 heads sharing 2 key/value heads, context 256: about 450 KB. */
export const defaultTinyLlamaOptions: TinyLlamaOptions = {
  seed: 42,
  name: 'nimbus-tiny-llama',
  embeddingLength: 64,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  feedForwardLength: 128,
  contextLength: 256,
};

/** Writes the tiny model to `path`; the same options always give a byte-identical file. */
export async function writeTinyLlamaGguf(path: string, options: Partial<TinyLlamaOptions> = {}): Promise<void> {
  const shape = checkShape({ ...defaultTinyLlamaOptions, ...options });
  const vocabulary = tinyVocabulary();
  const random = seededRandom(shape.seed);
  const headLength = shape.embeddingLength / shape.headCount;
  const keyValueWidth = headLength * shape.keyValueHeadCount;
  const vocabularySize = vocabulary.tokens.length;
  const u32 = (key: string, value: number): GgufEntry => ({ key, type: GgufValueType.Uint32, value });
  const f32 = (key: string, value: number): GgufEntry => ({ key, type: GgufValueType.Float32, value });

  const entries: GgufEntry[] = [
    { key: 'general.architecture', type: GgufValueType.String, value: 'llama' },
    { key: 'general.name', type: GgufValueType.String, value: shape.name },
    u32('general.alignment', 32),
    u32('general.file_type', 0), // all F32
    u32('llama.context_length', shape.contextLength),
    u32('llama.embedding_length', shape.embeddingLength),
    u32('llama.feed_forward_length', shape.feedForwardLength),
    u32('llama.block_count', shape.layerCount),
    u32('llama.attention.head_count', shape.headCount),
    u32('llama.attention.head_count_kv', shape.keyValueHeadCount),
    u32('llama.rope.dimension_count', headLength),
    f32('llama.rope.freq_base', 10000),
    f32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    u32('llama.vocab_size', vocabularySize),
    { key: 'tokenizer.ggml.model', type: GgufValueType.String, value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: GgufValueType.Array, itemType: GgufValueType.String, value: vocabulary.tokens },
    { key: 'tokenizer.ggml.scores', type: GgufValueType.Array, itemType: GgufValueType.Float32, value: vocabulary.scores },
    { key: 'tokenizer.ggml.token_type', type: GgufValueType.Array, itemType: GgufValueType.Int32, value: vocabulary.types },
    u32('tokenizer.ggml.bos_token_id', vocabulary.beginId),
    u32('tokenizer.ggml.eos_token_id', vocabulary.endId),
    u32('tokenizer.ggml.unknown_token_id', vocabulary.unknownId),
    { key: 'tokenizer.ggml.add_bos_token', type: GgufValueType.Bool, value: true },
    { key: 'tokenizer.ggml.add_eos_token', type: GgufValueType.Bool, value: false },
  ];

  // Matrices are [inputs, outputs] (ggml's ne0 is the input side), scaled by 1/sqrt(inputs) so
  // activations stay near unit size through the layers.
  const matrix = (name: string, inputs: number, outputs: number): GgufTensorData => {
    const values = new Float32Array(inputs * outputs);
    const scale = 1 / Math.sqrt(inputs);
    for (let index = 0; index < values.length; index++) values[index] = (random() * 2 - 1) * scale;
    return f32Tensor(name, [inputs, outputs], values);
  };
  const norm = (name: string): GgufTensorData => f32Tensor(name, [shape.embeddingLength], new Float32Array(shape.embeddingLength).fill(1));

  const output = matrix('output.weight', shape.embeddingLength, vocabularySize);
  // Zero logits for unprintable tokens, so greedy decoding (which picks the largest logit, and some
  // random logit is almost surely above 0) never picks them: a random row for </s> would stop a
  // run early, and a lone byte like <0xE2> is held back by node-llama-cpp as half a character
  // past maxTokens. Tests then get exactly the token count they ask for.
  const rowBytes = shape.embeddingLength * Float32Array.BYTES_PER_ELEMENT;
  for (const id of vocabulary.unprintableIds) output.data.fill(0, id * rowBytes, (id + 1) * rowBytes);
  const tensors = [matrix('token_embd.weight', shape.embeddingLength, vocabularySize), norm('output_norm.weight'), output];
  for (let layer = 0; layer < shape.layerCount; layer++) {
    const block = `blk.${layer}`;
    tensors.push(
      matrix(`${block}.attn_q.weight`, shape.embeddingLength, shape.embeddingLength),
      matrix(`${block}.attn_k.weight`, shape.embeddingLength, keyValueWidth),
      matrix(`${block}.attn_v.weight`, shape.embeddingLength, keyValueWidth),
      matrix(`${block}.attn_output.weight`, shape.embeddingLength, shape.embeddingLength),
      norm(`${block}.attn_norm.weight`),
      matrix(`${block}.ffn_gate.weight`, shape.embeddingLength, shape.feedForwardLength),
      matrix(`${block}.ffn_down.weight`, shape.feedForwardLength, shape.embeddingLength),
      matrix(`${block}.ffn_up.weight`, shape.embeddingLength, shape.feedForwardLength),
      norm(`${block}.ffn_norm.weight`),
    );
  }
  await writeGguf(path, entries, tensors);
}

function f32Tensor(name: string, dims: number[], values: Float32Array): GgufTensorData {
  // Float32Array is little-endian on every platform Node runs llama.cpp on, as GGUF requires.
  return { name, dims, type: GgmlType.F32, data: new Uint8Array(values.buffer) };
}

function checkShape(shape: TinyLlamaOptions): TinyLlamaOptions {
  const positive = ['embeddingLength', 'layerCount', 'headCount', 'keyValueHeadCount', 'feedForwardLength', 'contextLength'] as const;
  for (const key of positive) {
    if (!Number.isInteger(shape[key]) || shape[key] < 1) throw new Error(`tiny llama option ${key} must be a positive integer, got ${shape[key]}`);
  }
  const headLength = shape.embeddingLength / shape.headCount;
  if (!Number.isInteger(headLength)) throw new Error(`tiny llama embeddingLength ${shape.embeddingLength} must be a multiple of headCount ${shape.headCount}`);
  // Rotary embeddings rotate pairs of values, so each head needs an even length.
  if (headLength % 2 !== 0) throw new Error(`tiny llama heads must have an even length (embeddingLength / headCount), got ${headLength}`);
  if (shape.headCount % shape.keyValueHeadCount !== 0) {
    throw new Error(`tiny llama headCount ${shape.headCount} must be a multiple of keyValueHeadCount ${shape.keyValueHeadCount}`);
  }
  return shape;
}
