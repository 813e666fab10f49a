/**
 * A forward-only reader over an open file that buffers one chunk at a time, so a header can be
 * parsed from a multi-gigabyte model without loading the file. Callers `need` bytes before
 * reading them: the async refill happens there and the typed reads stay synchronous.
 */
import type { FileHandle } from 'node:fs/promises';
import { GgufError } from './gguf-error.js';

const chunkBytes = 64 * 1024;

/** A buffered position in a file, for parsing little-endian binary headers. */
export class FileCursor {
  private buffer = Buffer.alloc(chunkBytes);
  /** File offset of `buffer[0]`. */
  private bufferStart = 0;
  /** Count of valid bytes in `buffer`. */
  private filled = 0;
  /** Index in `buffer` of the next unread byte. */
  private next = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly fileSize: number,
  ) {}

  /** File offset of the next unread byte. */
  get position(): number {
    return this.bufferStart + this.next;
  }

  /** Makes the next `count` bytes readable, or throws if the file ends before them. */
  async need(count: number): Promise<void> {
    if (this.filled - this.next >= count) return;
    this.assertWithinFile(count);
    const kept = this.filled - this.next;
    const target = count > this.buffer.length ? Buffer.alloc(count) : this.buffer;
    this.buffer.copy(target, 0, this.next, this.filled);
    this.buffer = target;
    this.bufferStart += this.next;
    this.next = 0;
    this.filled = kept;
    while (this.filled < count) {
      const { bytesRead } = await this.handle.read(this.buffer, this.filled, this.buffer.length - this.filled, this.bufferStart + this.filled);
      // The size was checked above, so running dry here means the file shrank while we read it.
      if (bytesRead === 0) throw new GgufError(this.path, `truncated GGUF file: it ended at byte ${this.bufferStart + this.filled} while being read`);
      this.filled += bytesRead;
    }
  }

  /** Moves past `count` bytes without reading them. */
  skip(count: number): void {
    this.assertWithinFile(count);
    if (this.filled - this.next >= count) {
      this.next += count;
      return;
    }
    this.bufferStart = this.position + count;
    this.next = this.filled = 0;
  }

  /** Reads `count` bytes that `need` made readable; the result shares memory with the buffer. */
  bytes(count: number): Buffer {
    const slice = this.buffer.subarray(this.next, this.next + count);
    this.next += count;
    return slice;
  }

  /** Reads an unsigned byte. */
  uint8(): number {
    return this.buffer.readUInt8(this.next++);
  }

  /** Reads a signed byte. */
  int8(): number {
    return this.buffer.readInt8(this.next++);
  }

  /** Reads an unsigned 16-bit integer. */
  uint16(): number {
    return this.advance(2, this.buffer.readUInt16LE(this.next));
  }

  /** Reads a signed 16-bit integer. */
  int16(): number {
    return this.advance(2, this.buffer.readInt16LE(this.next));
  }

  /** Reads an unsigned 32-bit integer. */
  uint32(): number {
    return this.advance(4, this.buffer.readUInt32LE(this.next));
  }

  /** Reads a signed 32-bit integer. */
  int32(): number {
    return this.advance(4, this.buffer.readInt32LE(this.next));
  }

  /** Reads a 32-bit float. */
  float32(): number {
    return this.advance(4, this.buffer.readFloatLE(this.next));
  }

  /** Reads a 64-bit float. */
  float64(): number {
    return this.advance(8, this.buffer.readDoubleLE(this.next));
  }

  /** Reads an unsigned 64-bit integer: a number when exact, else a bigint. */
  uint64(): number | bigint {
    return this.advance(8, exact(this.buffer.readBigUInt64LE(this.next)));
  }

  /** Reads a signed 64-bit integer: a number when exact, else a bigint. */
  int64(): number | bigint {
    return this.advance(8, exact(this.buffer.readBigInt64LE(this.next)));
  }

  private advance<T>(count: number, value: T): T {
    this.next += count;
    return value;
  }

  private assertWithinFile(count: number): void {
    const end = this.position + count;
    if (end > this.fileSize) {
      throw new GgufError(this.path, `truncated GGUF file: needs bytes up to offset ${end}, but the file is ${this.fileSize} bytes long`);
    }
  }
}

function exact(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
