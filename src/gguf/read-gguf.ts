/**
 * Reads a GGUF file's header (metadata and tensor infos) without touching the tensor data, so
 * Nimbus can size and describe a model before deciding where to load it.
 */
import { open } from 'node:fs/promises';
import { FileCursor } from './file-cursor.js';
import { ggmlTypeSize, tensorBytes } from './ggml-type.js';
import { GgufError } from './gguf-error.js';
import type { GgufHeader, GgufTensorInfo, GgufValue } from './gguf-types.js';
import { readCount, readString, readValue, type ArrayLimits } from './read-gguf-value.js';

/** Limits on what the reader keeps; merged over `defaultReadOptions`. */
export type ReadGgufOptions = Partial<ArrayLimits>;

/** Whole arrays up to 4096 items (merges lists and vocabularies above that keep a 16-item preview). */
export const defaultReadOptions: ArrayLimits = { fullArrayLimit: 4096, previewItems: 16 };

const magic = 'GGUF';
// llama.cpp caps tensors at 4 dimensions (GGML_MAX_DIMS).
const maxDims = 4;
const defaultAlignment = 32;

/** Reads the header of the GGUF file at `path`; throws `GgufError` for non-GGUF, truncated or corrupt files. */
export async function readGgufHeader(path: string, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const limits = { ...defaultReadOptions, ...options } satisfies ArrayLimits;
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return await readHeader(new FileCursor(handle, path, size), limits);
  } finally {
    await handle.close();
  }
}

async function readHeader(cursor: FileCursor, limits: ArrayLimits): Promise<GgufHeader> {
  const { path, fileSize } = cursor;
  if (fileSize < magic.length) throw new GgufError(path, `not a GGUF file: bad magic (the file is only ${fileSize} bytes long)`);
  await cursor.need(magic.length);
  const found = cursor.bytes(magic.length).toString('latin1');
  if (found !== magic) throw new GgufError(path, `not a GGUF file: bad magic ${JSON.stringify(found)} (expected "GGUF")`);
  const version = await readVersion(cursor);
  const tensorCount = await readCount(cursor, 'tensor count');
  const metadataCount = await readCount(cursor, 'metadata count');

  const metadata = new Map<string, GgufValue>();
  for (let index = 0; index < metadataCount; index++) {
    const key = await readString(cursor);
    if (metadata.has(key)) throw new GgufError(path, `corrupt GGUF file: metadata key ${key} appears twice`);
    await cursor.need(4);
    metadata.set(key, await readValue(cursor, cursor.uint32(), limits));
  }
  const alignment = readAlignment(path, metadata.get('general.alignment'));

  const tensors: GgufTensorInfo[] = [];
  for (let index = 0; index < tensorCount; index++) tensors.push(await readTensorInfo(cursor));
  const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
  for (const tensor of tensors) checkTensor(path, tensor, alignment, fileSize - dataOffset);
  return { version, tensorCount, metadata, tensors, alignment, dataOffset, fileSize };
}

async function readVersion(cursor: FileCursor): Promise<number> {
  await cursor.need(4);
  const version = cursor.uint32();
  if (version === 2 || version === 3) return version;
  // A big-endian file shows its small version number in the high bytes when read little-endian.
  if (version > 0xffff && (version & 0xffff) === 0) throw new GgufError(cursor.path, 'big-endian GGUF files are not supported; use a little-endian conversion');
  if (version === 1) throw new GgufError(cursor.path, 'GGUF version 1 is no longer supported; re-convert the model with a current llama.cpp');
  throw new GgufError(cursor.path, `unsupported GGUF version ${version}; Nimbus reads versions 2 and 3`);
}

function readAlignment(path: string, value: GgufValue | undefined): number {
  if (value === undefined) return defaultAlignment;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0) return value;
  throw new GgufError(path, `corrupt GGUF file: general.alignment must be a power of two, got ${String(value)}`);
}

async function readTensorInfo(cursor: FileCursor): Promise<GgufTensorInfo> {
  const name = await readString(cursor);
  await cursor.need(4);
  const dimCount = cursor.uint32();
  if (dimCount < 1 || dimCount > maxDims) {
    throw new GgufError(cursor.path, `corrupt GGUF file: tensor ${name} has ${dimCount} dimensions (1 to ${maxDims} allowed)`);
  }
  const dims: number[] = [];
  for (let index = 0; index < dimCount; index++) dims.push(await readCount(cursor, `tensor ${name} dimension`));
  await cursor.need(4);
  const type = cursor.uint32();
  const offset = await readCount(cursor, `tensor ${name} offset`);
  return { name, dims, type, offset };
}

/** Rejects misaligned tensors and tensors whose data the file is too short to hold. */
function checkTensor(path: string, tensor: GgufTensorInfo, alignment: number, dataBytes: number): void {
  if (tensor.offset % alignment !== 0) {
    throw new GgufError(path, `corrupt GGUF file: tensor ${tensor.name} offset ${tensor.offset} is not a multiple of ${alignment}`);
  }
  // Types newer than this reader cannot be sized; leave them for the engine to judge.
  if (!ggmlTypeSize(tensor.type)) return;
  let bytes: number;
  try {
    bytes = tensorBytes(tensor);
  } catch (error) {
    throw new GgufError(path, `corrupt GGUF file: ${(error as Error).message}`);
  }
  if (tensor.offset + bytes > dataBytes) {
    const held = Math.max(dataBytes, 0);
    throw new GgufError(path, `truncated GGUF file: tensor ${tensor.name} needs ${tensor.offset + bytes} data bytes, but the file holds ${held}`);
  }
}
