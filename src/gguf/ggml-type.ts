/**
 * ggml tensor types and their storage sizes, for memory estimates from a GGUF header alone.
 * Sizes were checked against llama.cpp's own table (ggml_blck_size, ggml_type_size) in the
 * build node-llama-cpp 3.21.1 ships.
 */
import type { GgufTensorInfo } from './gguf-types.js';

/** ggml type numbers, as written in tensor infos. Gaps are types llama.cpp has since removed. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;

/** Name of a known ggml type. */
export type GgmlTypeName = keyof typeof GgmlType;

/** How a ggml type is stored: `blockBytes` bytes hold `blockSize` consecutive elements of a row. */
export interface GgmlTypeSize {
  name: GgmlTypeName;
  blockSize: number;
  blockBytes: number;
}

// [block size, bytes per block], keyed by type name; k-quants and most i-quants pack 256 elements.
const sizes: Record<GgmlTypeName, [number, number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q8_1: [32, 36],
  Q2_K: [256, 84],
  Q3_K: [256, 110],
  Q4_K: [256, 144],
  Q5_K: [256, 176],
  Q6_K: [256, 210],
  Q8_K: [256, 292],
  IQ2_XXS: [256, 66],
  IQ2_XS: [256, 74],
  IQ3_XXS: [256, 98],
  IQ1_S: [256, 50],
  IQ4_NL: [32, 18],
  IQ3_S: [256, 110],
  IQ2_S: [256, 82],
  IQ4_XS: [256, 136],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [256, 56],
  BF16: [1, 2],
  TQ1_0: [256, 54],
  TQ2_0: [256, 66],
  MXFP4: [32, 17],
  NVFP4: [64, 36],
  Q1_0: [128, 18],
  Q2_0: [64, 18],
};

const byNumber = new Map<number, GgmlTypeSize>(
  Object.entries(GgmlType).map(([name, type]) => {
    const [blockSize, blockBytes] = sizes[name as GgmlTypeName];
    return [type, { name: name as GgmlTypeName, blockSize, blockBytes }];
  }),
);

/** Storage size of a ggml type, or undefined for a type number Nimbus does not know. */
export function ggmlTypeSize(type: number): GgmlTypeSize | undefined {
  return byNumber.get(type);
}

/** Bytes a tensor's data takes in the file (and in memory when loaded unconverted). */
export function tensorBytes(info: Pick<GgufTensorInfo, 'name' | 'dims' | 'type'>): number {
  const size = ggmlTypeSize(info.type);
  if (!size) throw new Error(`tensor ${info.name} has ggml type ${info.type}, which Nimbus does not know; update Nimbus to read this model`);
  const [rowLength = 1, ...rest] = info.dims;
  // Blocks never span rows, so a row that is not a whole number of blocks cannot be stored.
  if (rowLength % size.blockSize !== 0) {
    throw new Error(`tensor ${info.name}: row length ${rowLength} is not a multiple of the ${size.name} block size ${size.blockSize}`);
  }
  const rows = rest.reduce((product, dim) => product * dim, 1);
  return (rowLength / size.blockSize) * size.blockBytes * rows;
}
