/**
 * Encodes a whole GGUF v3 file in memory. Meant for small generated models (tests, fixtures):
 * real models are produced by llama.cpp's converters, not by Nimbus.
 */
import { writeFile } from 'node:fs/promises';
import { GgufValueType } from './gguf-types.js';

/** A scalar value type tag: every tag but Array. */
export type GgufScalarType = Exclude<GgufValueType, typeof GgufValueType.Array>;

/** A scalar metadata value; a JavaScript number says nothing of width, so entries carry a type. */
export type GgufScalar = number | bigint | boolean | string;

/** One metadata entry to write, with its type spelled out. */
export type GgufEntry =
  | { key: string; type: GgufScalarType; value: GgufScalar }
  | { key: string; type: typeof GgufValueType.Array; itemType: GgufScalarType; value: readonly GgufScalar[] };

/** One tensor to write: its dims fastest-varying first and its data already in the ggml type's layout. */
export interface GgufTensorData {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
}

/** Writes a GGUF v3 file; general.alignment among the entries sets the alignment (default 32). */
export async function writeGguf(path: string, entries: readonly GgufEntry[], tensors: readonly GgufTensorData[]): Promise<void> {
  await writeFile(path, encodeGguf(entries, tensors));
}

/** Encodes a GGUF v3 file into one buffer. */
export function encodeGguf(entries: readonly GgufEntry[], tensors: readonly GgufTensorData[]): Buffer {
  const alignmentEntry = entries.find((entry) => entry.key === 'general.alignment');
  const alignment = typeof alignmentEntry?.value === 'number' ? alignmentEntry.value : 32;
  const out = new ByteWriter();
  out.raw(Buffer.from('GGUF', 'latin1'));
  out.scalar(GgufValueType.Uint32, 3);
  out.scalar(GgufValueType.Uint64, tensors.length);
  out.scalar(GgufValueType.Uint64, entries.length);
  for (const entry of entries) {
    out.scalar(GgufValueType.String, entry.key);
    out.scalar(GgufValueType.Uint32, entry.type);
    if (entry.type === GgufValueType.Array) {
      out.scalar(GgufValueType.Uint32, entry.itemType);
      out.scalar(GgufValueType.Uint64, entry.value.length);
      for (const item of entry.value) out.scalar(entry.itemType, item);
    } else out.scalar(entry.type, entry.value);
  }
  let offset = 0;
  for (const tensor of tensors) {
    out.scalar(GgufValueType.String, tensor.name);
    out.scalar(GgufValueType.Uint32, tensor.dims.length);
    for (const dim of tensor.dims) out.scalar(GgufValueType.Uint64, dim);
    out.scalar(GgufValueType.Uint32, tensor.type);
    out.scalar(GgufValueType.Uint64, offset);
    offset = alignUp(offset + tensor.data.byteLength, alignment);
  }
  for (const tensor of tensors) {
    out.pad(alignment);
    out.raw(tensor.data);
  }
  // llama.cpp reads each tensor's padded size, so the last one is padded too.
  out.pad(alignment);
  return out.result();
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Little-endian encoding into a list of chunks. */
class ByteWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  raw(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.byteLength;
  }

  pad(alignment: number): void {
    const padding = alignUp(this.length, alignment) - this.length;
    if (padding > 0) this.raw(Buffer.alloc(padding));
  }

  scalar(type: GgufScalarType, value: GgufScalar): void {
    if (type === GgufValueType.String) {
      const text = Buffer.from(String(value), 'utf8');
      this.scalar(GgufValueType.Uint64, text.byteLength);
      this.raw(text);
      return;
    }
    const bytes = Buffer.alloc(scalarBytes[type]);
    switch (type) {
      case GgufValueType.Uint8:
      case GgufValueType.Bool:
        bytes.writeUInt8(Number(value));
        break;
      case GgufValueType.Int8:
        bytes.writeInt8(Number(value));
        break;
      case GgufValueType.Uint16:
        bytes.writeUInt16LE(Number(value));
        break;
      case GgufValueType.Int16:
        bytes.writeInt16LE(Number(value));
        break;
      case GgufValueType.Uint32:
        bytes.writeUInt32LE(Number(value));
        break;
      case GgufValueType.Int32:
        bytes.writeInt32LE(Number(value));
        break;
      case GgufValueType.Float32:
        bytes.writeFloatLE(Number(value));
        break;
      case GgufValueType.Uint64:
        bytes.writeBigUInt64LE(BigInt(value));
        break;
      case GgufValueType.Int64:
        bytes.writeBigInt64LE(BigInt(value));
        break;
      case GgufValueType.Float64:
        bytes.writeDoubleLE(Number(value));
        break;
    }
    this.raw(bytes);
  }

  result(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

const scalarBytes: Record<Exclude<GgufScalarType, typeof GgufValueType.String>, number> = {
  [GgufValueType.Uint8]: 1,
  [GgufValueType.Int8]: 1,
  [GgufValueType.Bool]: 1,
  [GgufValueType.Uint16]: 2,
  [GgufValueType.Int16]: 2,
  [GgufValueType.Uint32]: 4,
  [GgufValueType.Int32]: 4,
  [GgufValueType.Float32]: 4,
  [GgufValueType.Uint64]: 8,
  [GgufValueType.Int64]: 8,
  [GgufValueType.Float64]: 8,
};
