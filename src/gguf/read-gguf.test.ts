import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { skipWithoutSharedModel, storiesPath } from '../../test/support/shared-model.js';
import { GgmlType, ggmlTypeSize, tensorBytes } from './ggml-type.js';
import { GgufValueType, type GgufArray } from './gguf-types.js';
import { modelFacts } from './model-facts.js';
import { readGgufHeader } from './read-gguf.js';
import { encodeGguf, type GgufEntry } from './write-gguf.js';
import { writeTinyLlamaGguf } from './write-tiny-llama.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'nimbus-read-gguf-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe.skipIf(skipWithoutSharedModel())('stories260K.gguf', () => {
  test('header and facts match the model card', async () => {
    const header = await readGgufHeader(storiesPath!);
    expect(header.version).toBe(3);
    expect(header.tensorCount).toBe(48);
    expect(header.tensors).toHaveLength(48);
    expect(header.alignment).toBe(32);
    expect(header.metadata.get('general.architecture')).toBe('llama');
    expect(header.tensors[0]).toEqual({ name: 'token_embd.weight', dims: [64, 512], type: GgmlType.F32, offset: 0 });
    const tokens = header.metadata.get('tokenizer.ggml.tokens') as GgufArray;
    expect(tokens).toMatchObject({ itemType: GgufValueType.String, length: 512, truncated: false });
    expect(tokens.items.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);

    const facts = modelFacts(header);
    expect(facts).toMatchObject({
      architecture: 'llama',
      layerCount: 5,
      embeddingLength: 64,
      headCount: 8,
      keyValueHeadCount: 4,
      contextLength: 512,
      vocabularySize: 512,
    });
    const slack = header.fileSize - header.dataOffset - facts.weightBytes;
    expect(slack).toBeGreaterThanOrEqual(0);
    expect(slack).toBeLessThan(header.alignment);
  });

  test('long arrays keep a preview and the keys after them still read', async () => {
    const header = await readGgufHeader(storiesPath!, { fullArrayLimit: 100, previewItems: 3 });
    expect(header.metadata.get('tokenizer.ggml.tokens')).toEqual({
      itemType: GgufValueType.String,
      length: 512,
      items: ['<unk>', '<s>', '</s>'],
      truncated: true,
    });
    expect((header.metadata.get('tokenizer.ggml.scores') as GgufArray).items).toHaveLength(3);
    expect(header.metadata.get('tokenizer.ggml.eos_token_id')).toBe(2);
    expect(header.tensors).toHaveLength(48);
  });

  test('a file cut inside its metadata or its tensor data is reported as truncated', async () => {
    const bytes = await readFile(storiesPath!);
    const early = join(directory, 'stories-early.gguf');
    await writeFile(early, bytes.subarray(0, 1000));
    await expect(readGgufHeader(early)).rejects.toThrow(/truncated GGUF file/);
    const late = join(directory, 'stories-late.gguf');
    await writeFile(late, bytes.subarray(0, bytes.length - 100));
    await expect(readGgufHeader(late)).rejects.toThrow(/truncated GGUF file: tensor blk\.4\.ffn_norm\.weight/);
  });
});

describe('malformed files', () => {
  const file = async (name: string, bytes: Uint8Array): Promise<string> => {
    const path = join(directory, name);
    await writeFile(path, bytes);
    return path;
  };
  const header = (version: number): Buffer => {
    const bytes = Buffer.alloc(24);
    bytes.write('GGUF', 'latin1');
    bytes.writeUInt32LE(version, 4);
    return bytes;
  };

  test('bad magic, including empty and tiny files', async () => {
    await expect(readGgufHeader(await file('text.gguf', Buffer.from('{"not": "a model"}')))).rejects.toThrow(/not a GGUF file: bad magic/);
    await expect(readGgufHeader(await file('empty.gguf', Buffer.alloc(0)))).rejects.toThrow(/not a GGUF file: bad magic/);
    await expect(readGgufHeader(await file('short.gguf', Buffer.from('GG')))).rejects.toThrow(/not a GGUF file: bad magic/);
  });

  test('versions other than 2 and 3, and big-endian files', async () => {
    await expect(readGgufHeader(await file('v1.gguf', header(1)))).rejects.toThrow(/GGUF version 1 is no longer supported/);
    await expect(readGgufHeader(await file('v9.gguf', header(9)))).rejects.toThrow(/unsupported GGUF version 9/);
    await expect(readGgufHeader(await file('big-endian.gguf', header(0x03000000)))).rejects.toThrow(/big-endian/);
  });

  test('truncation at every cut of a small model is a clear error', async () => {
    const path = join(directory, 'tiny.gguf');
    await writeTinyLlamaGguf(path);
    const bytes = await readFile(path);
    const { dataOffset } = await readGgufHeader(path);
    for (const cut of [4, 7, 12, 30, 500, dataOffset - 9, dataOffset + 1000, bytes.length - 1]) {
      await expect(readGgufHeader(await file('cut.gguf', bytes.subarray(0, cut))), `cut at ${cut}`).rejects.toThrow(/truncated GGUF file/);
    }
  });

  test('an unknown metadata value type is reported as corrupt', async () => {
    const bytes = encodeGguf([{ key: 'general.name', type: GgufValueType.String, value: 'x' }], []);
    bytes.writeUInt32LE(99, 24 + 8 + 'general.name'.length);
    await expect(readGgufHeader(await file('bad-type.gguf', bytes))).rejects.toThrow(/corrupt GGUF file: unknown metadata value type 99/);
  });
});

describe('arrays larger than the read buffer', () => {
  const count = 20_000;
  let path: string;
  beforeAll(async () => {
    path = join(directory, 'big-arrays.gguf');
    const tokens = Array.from({ length: count }, (_, index) => `token-${index}`);
    const bytes = encodeGguf(
      [
        { key: 'big.tokens', type: GgufValueType.Array, itemType: GgufValueType.String, value: tokens },
        { key: 'big.ids', type: GgufValueType.Array, itemType: GgufValueType.Uint64, value: tokens.map((_, index) => index) },
        { key: 'big.huge', type: GgufValueType.Int64, value: 2n ** 62n },
        { key: 'after', type: GgufValueType.Uint32, value: 7 },
      ],
      [{ name: 'weight', dims: [8], type: GgmlType.F32, data: new Uint8Array(32) }],
    );
    await writeFile(path, bytes);
  });

  test('are previewed by default, and the rest of the header still reads', async () => {
    const header = await readGgufHeader(path);
    expect(header.metadata.get('big.tokens')).toMatchObject({ length: count, truncated: true });
    expect((header.metadata.get('big.ids') as GgufArray).items).toEqual(Array.from({ length: 16 }, (_, index) => index));
    expect(header.metadata.get('big.huge')).toBe(2n ** 62n);
    expect(header.metadata.get('after')).toBe(7);
    expect(header.tensors).toEqual([{ name: 'weight', dims: [8], type: GgmlType.F32, offset: 0 }]);
    expect(header.fileSize - header.dataOffset).toBe(32);
  });

  test('are read whole across buffer refills when the limit allows', async () => {
    const header = await readGgufHeader(path, { fullArrayLimit: Infinity });
    const tokens = header.metadata.get('big.tokens') as GgufArray;
    expect(tokens.truncated).toBe(false);
    expect(tokens.items).toHaveLength(count);
    expect(tokens.items[count - 1]).toBe(`token-${count - 1}`);
    expect((header.metadata.get('big.ids') as GgufArray).items[count - 1]).toBe(count - 1);
  });
});

describe('ggml type sizes', () => {
  test('block sizes and bytes of common types', () => {
    expect(ggmlTypeSize(GgmlType.F16)).toEqual({ name: 'F16', blockSize: 1, blockBytes: 2 });
    expect(ggmlTypeSize(GgmlType.Q4_0)).toEqual({ name: 'Q4_0', blockSize: 32, blockBytes: 18 });
    expect(ggmlTypeSize(GgmlType.Q8_0)).toEqual({ name: 'Q8_0', blockSize: 32, blockBytes: 34 });
    expect(ggmlTypeSize(GgmlType.Q4_K)).toEqual({ name: 'Q4_K', blockSize: 256, blockBytes: 144 });
    expect(ggmlTypeSize(GgmlType.Q6_K)).toEqual({ name: 'Q6_K', blockSize: 256, blockBytes: 210 });
    expect(ggmlTypeSize(GgmlType.IQ4_XS)).toEqual({ name: 'IQ4_XS', blockSize: 256, blockBytes: 136 });
    expect(ggmlTypeSize(4)).toBeUndefined(); // Q4_2, removed from llama.cpp
  });

  test('tensor bytes', () => {
    expect(tensorBytes({ name: 'a', dims: [4096, 4096], type: GgmlType.Q4_K })).toBe(16 * 144 * 4096);
    expect(tensorBytes({ name: 'b', dims: [64, 3, 2], type: GgmlType.BF16 })).toBe(64 * 3 * 2 * 2);
    expect(() => tensorBytes({ name: 'c', dims: [100], type: GgmlType.Q8_0 })).toThrow(/row length 100 is not a multiple of the Q8_0 block size 32/);
    expect(() => tensorBytes({ name: 'd', dims: [32], type: 999 })).toThrow(/ggml type 999/);
  });
});

describe('modelFacts', () => {
  const factsOf = async (name: string, entries: GgufEntry[]) => {
    const path = join(directory, name);
    await writeFile(path, encodeGguf(entries, [{ name: 'token_embd.weight', dims: [8, 10], type: GgmlType.F32, data: new Uint8Array(320) }]));
    return modelFacts(await readGgufHeader(path));
  };
  const u32 = (key: string, value: number): GgufEntry => ({ key, type: GgufValueType.Uint32, value });
  const shape = [u32('demo.block_count', 2), u32('demo.embedding_length', 8), u32('demo.context_length', 64)];

  test('defaults: kv heads from heads, per-layer heads by their maximum, vocabulary from token_embd', async () => {
    const facts = await factsOf('per-layer.gguf', [
      { key: 'general.architecture', type: GgufValueType.String, value: 'demo' },
      ...shape,
      { key: 'demo.attention.head_count', type: GgufValueType.Array, itemType: GgufValueType.Int32, value: [2, 4] },
    ]);
    expect(facts).toEqual({
      architecture: 'demo',
      layerCount: 2,
      embeddingLength: 8,
      headCount: 4,
      keyValueHeadCount: 4,
      contextLength: 64,
      vocabularySize: 10,
      weightBytes: 320,
    });
  });

  test('missing keys are named', async () => {
    await expect(factsOf('no-arch.gguf', shape)).rejects.toThrow(/no general.architecture/);
    await expect(factsOf('no-shape.gguf', [{ key: 'general.architecture', type: GgufValueType.String, value: 'demo' }])).rejects.toThrow(
      /no numeric demo.block_count/,
    );
  });
});
