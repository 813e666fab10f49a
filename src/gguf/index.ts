/**
 * GGUF: reading model headers for sizing and description, and writing tiny models for tests.
 */
export { GgmlType, ggmlTypeSize, tensorBytes, type GgmlTypeName, type GgmlTypeSize } from './ggml-type.js';
export { GgufError } from './gguf-error.js';
export { GgufValueType, type GgufArray, type GgufHeader, type GgufTensorInfo, type GgufValue } from './gguf-types.js';
export { modelFacts, type ModelFacts } from './model-facts.js';
export { defaultReadOptions, readGgufHeader, type ReadGgufOptions } from './read-gguf.js';
export { readGgufModel, splitPaths } from './read-gguf-model.js';
export { encodeGguf, writeGguf, type GgufEntry, type GgufScalar, type GgufScalarType, type GgufTensorData } from './write-gguf.js';
export { defaultTinyLlamaOptions, writeTinyLlamaGguf, type TinyLlamaOptions } from './write-tiny-llama.js';
