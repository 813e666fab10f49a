/**
 * The shapes of a GGUF file's header, as Nimbus reads and writes them. Format reference:
 * https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */

/** Tags of metadata value types, as written in the file. Never renumber: they are the format. */
export const GgufValueType = {
  Uint8: 0,
  Int8: 1,
  Uint16: 2,
  Int16: 3,
  Uint32: 4,
  Int32: 5,
  Float32: 6,
  Bool: 7,
  String: 8,
  Array: 9,
  Uint64: 10,
  Int64: 11,
  Float64: 12,
} as const;

/** One metadata value type tag. */
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/**
 * A metadata value. 64-bit integers are numbers when they fit in a double exactly and bigints
 * otherwise, so common values (counts, ids) stay plain numbers.
 */
export type GgufValue = number | bigint | boolean | string | GgufArray;

/** An array value; huge arrays (a 150k-token vocabulary) keep only a preview of their items. */
export interface GgufArray {
  itemType: GgufValueType;
  /** The length written in the file; `items.length` is smaller when `truncated`. */
  length: number;
  items: GgufValue[];
  /** True when only the first items were kept, to bound memory. */
  truncated: boolean;
}

/** Where one tensor's data lives and how it is stored. */
export interface GgufTensorInfo {
  name: string;
  /** Sizes per dimension, fastest-varying first (ggml's ne0, ne1, ...). */
  dims: number[];
  /** The ggml type number (see `GgmlType`). */
  type: number;
  /** Byte offset of the data, relative to `GgufHeader.dataOffset`. */
  offset: number;
}

/** Everything in a GGUF file before the tensor data. */
export interface GgufHeader {
  version: number;
  tensorCount: number;
  /** Metadata in file order. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** general.alignment, or the format's default of 32. */
  alignment: number;
  /** Absolute offset where tensor data starts. */
  dataOffset: number;
  fileSize: number;
}
