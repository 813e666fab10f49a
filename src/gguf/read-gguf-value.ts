/**
 * Reading one metadata value, including arrays. Arrays past a size limit keep only their first
 * items and skip the rest, so a 150k-token vocabulary costs kilobytes, not megabytes.
 */
import type { FileCursor } from './file-cursor.js';
import { GgufError } from './gguf-error.js';
import { GgufValueType, type GgufValue } from './gguf-types.js';

/** How much of large arrays to keep. */
export interface ArrayLimits {
  /** Arrays with at most this many items are kept whole. */
  fullArrayLimit: number;
  /** Items kept from longer arrays. */
  previewItems: number;
}

// Longer strings are surely a corrupt length field; the largest real ones are chat templates.
const maxStringBytes = 16 * 1024 * 1024;

const fixedBytes: Partial<Record<number, number>> = {
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

/** Reads a GGUF string: a 64-bit byte length, then UTF-8 bytes. */
export async function readString(cursor: FileCursor): Promise<string> {
  const start = cursor.position;
  const length = await readCount(cursor, 'string length');
  if (length > maxStringBytes) throw new GgufError(cursor.path, `corrupt GGUF file: the string at offset ${start} claims ${length} bytes`);
  await cursor.need(length);
  return cursor.bytes(length).toString('utf8');
}

/** Reads a 64-bit count or size that must fit in a JavaScript number. */
export async function readCount(cursor: FileCursor, what: string): Promise<number> {
  const start = cursor.position;
  await cursor.need(8);
  const value = cursor.uint64();
  if (typeof value === 'bigint') throw new GgufError(cursor.path, `corrupt GGUF file: ${what} ${value} at offset ${start} is too large`);
  return value;
}

/** Reads a value of the given type tag. */
export async function readValue(cursor: FileCursor, type: number, limits: ArrayLimits): Promise<GgufValue> {
  if (type === GgufValueType.String) return readString(cursor);
  if (type === GgufValueType.Array) return readArray(cursor, limits);
  const size = fixedBytes[type];
  if (size === undefined) throw unknownType(cursor, type);
  await cursor.need(size);
  switch (type) {
    case GgufValueType.Uint8:
      return cursor.uint8();
    case GgufValueType.Int8:
      return cursor.int8();
    case GgufValueType.Bool:
      return cursor.uint8() !== 0;
    case GgufValueType.Uint16:
      return cursor.uint16();
    case GgufValueType.Int16:
      return cursor.int16();
    case GgufValueType.Uint32:
      return cursor.uint32();
    case GgufValueType.Int32:
      return cursor.int32();
    case GgufValueType.Float32:
      return cursor.float32();
    case GgufValueType.Uint64:
      return cursor.uint64();
    case GgufValueType.Int64:
      return cursor.int64();
    default:
      return cursor.float64();
  }
}

async function readArray(cursor: FileCursor, limits: ArrayLimits): Promise<GgufValue> {
  await cursor.need(4);
  const itemType = cursor.uint32();
  if (!isValueType(itemType)) throw unknownType(cursor, itemType);
  const length = await readCount(cursor, 'array length');
  const kept = length <= limits.fullArrayLimit ? length : Math.min(length, limits.previewItems);
  const items: GgufValue[] = [];
  for (let index = 0; index < kept; index++) items.push(await readValue(cursor, itemType, limits));
  await skipItems(cursor, itemType, length - kept);
  return { itemType: itemType as GgufValueType, length, items, truncated: kept < length };
}

async function skipItems(cursor: FileCursor, type: number, count: number): Promise<void> {
  const size = fixedBytes[type];
  if (size !== undefined) return cursor.skip(size * count);
  for (let index = 0; index < count; index++) {
    if (type === GgufValueType.String) {
      cursor.skip(await readCount(cursor, 'string length'));
    } else {
      await cursor.need(4);
      const itemType = cursor.uint32();
      if (!isValueType(itemType)) throw unknownType(cursor, itemType);
      await skipItems(cursor, itemType, await readCount(cursor, 'array length'));
    }
  }
}

function isValueType(type: number): boolean {
  return type === GgufValueType.String || type === GgufValueType.Array || fixedBytes[type] !== undefined;
}

function unknownType(cursor: FileCursor, type: number): GgufError {
  return new GgufError(cursor.path, `corrupt GGUF file: unknown metadata value type ${type} before offset ${cursor.position}`);
}
