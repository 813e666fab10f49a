/**
 * The few numbers a memory estimate needs, pulled from a GGUF header's `{architecture}.*` keys.
 */
import { tensorBytes } from './ggml-type.js';
import type { GgufHeader, GgufValue } from './gguf-types.js';

/** A model's shape and weight size, as its GGUF header states them. */
export interface ModelFacts {
  /** general.architecture, e.g. "llama"; it prefixes the other keys. */
  architecture: string;
  /** {arch}.block_count: transformer layers (n_layer). */
  layerCount: number;
  /** {arch}.embedding_length: hidden size (n_embd). */
  embeddingLength: number;
  /** {arch}.attention.head_count (n_head); 0 for attention-free models such as Mamba. */
  headCount: number;
  /** {arch}.attention.head_count_kv (n_head_kv); defaults to `headCount`, as in llama.cpp. */
  keyValueHeadCount: number;
  /** {arch}.context_length: the context the model was trained for. */
  contextLength: number;
  /** {arch}.vocab_size, else the tokenizer's token count, else token_embd.weight's rows. */
  vocabularySize: number;
  /** Sum of all tensors' data bytes. */
  weightBytes: number;
}

/** Reads the facts of a model header; throws naming the key when a required one is missing. */
export function modelFacts(header: GgufHeader): ModelFacts {
  const architecture = header.metadata.get('general.architecture');
  if (typeof architecture !== 'string') throw new Error('GGUF metadata has no general.architecture string; the file is not a model llama.cpp can load');
  const count = (name: string): number | undefined => countOf(header.metadata.get(`${architecture}.${name}`));
  const required = (name: string): number => {
    const value = count(name);
    if (value === undefined) throw new Error(`GGUF metadata has no numeric ${architecture}.${name}; cannot describe this ${architecture} model`);
    return value;
  };
  const headCount = count('attention.head_count') ?? 0;
  return {
    architecture,
    layerCount: required('block_count'),
    embeddingLength: required('embedding_length'),
    headCount,
    keyValueHeadCount: count('attention.head_count_kv') ?? headCount,
    contextLength: required('context_length'),
    vocabularySize: count('vocab_size') ?? vocabularyFromTokens(header) ?? required('vocab_size'),
    weightBytes: header.tensors.reduce((total, tensor) => total + tensorBytes(tensor), 0),
  };
}

/** A count from a scalar, or the largest of a per-layer array (some models vary heads by layer). */
function countOf(value: GgufValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && !value.truncated) {
    const numbers = value.items.map(countOf).filter((item) => item !== undefined);
    if (numbers.length > 0 && numbers.length === value.items.length) return Math.max(...numbers);
  }
  return undefined;
}

function vocabularyFromTokens(header: GgufHeader): number | undefined {
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  if (typeof tokens === 'object') return tokens.length;
  return header.tensors.find((tensor) => tensor.name === 'token_embd.weight')?.dims[1];
}
