/**
 * A model's whole header where llama.cpp split it into several files
 * (`name-00001-of-00003.gguf`, with `split.count` in each): the first file's metadata and every
 * file's tensors, so that the weights are counted in full. A model in one file is its header.
 */
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GgufError } from './gguf-error.js';
import type { GgufHeader } from './gguf-types.js';
import { readGgufHeader, type ReadGgufOptions } from './read-gguf.js';

/** llama.cpp's split file names: the part number and the count, five digits each. */
const splitName = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** The paths of every file of a split model, given any one of them; undefined for a name that is not a split's. */
export function splitPaths(path: string): string[] | undefined {
  const match = splitName.exec(basename(path));
  if (!match) return undefined;
  const count = Number(match[3]);
  const digits = (value: number): string => String(value).padStart(5, '0');
  return Array.from({ length: count }, (_, index) => join(dirname(path), `${match[1]}-${digits(index + 1)}-of-${digits(count)}.gguf`));
}

/** Reads a model's header, every part of a split one; throws `GgufError` naming a missing or mismatched part. */
export async function readGgufModel(path: string, options: ReadGgufOptions = {}): Promise<GgufHeader & { parts: string[] }> {
  const first = await readGgufHeader(path, options);
  const count = first.metadata.get('split.count');
  if (typeof count !== 'number' || count <= 1) return { ...first, parts: [path] };
  const parts = splitPaths(path);
  if (!parts || parts.length !== count) {
    throw new GgufError(
      path,
      `the model is split into ${count} files, but this file's name does not say which (expected NAME-00001-of-${String(count).padStart(5, '0')}.gguf)`,
    );
  }
  const headers: GgufHeader[] = [];
  for (const [index, part] of parts.entries()) {
    try {
      await access(part);
    } catch {
      throw new GgufError(part, `part ${index + 1} of ${count} of this split model is missing; put every part beside the first`);
    }
    const header = part === path ? first : await readGgufHeader(part, options);
    const number = header.metadata.get('split.no');
    if (typeof number === 'number' && number !== index) throw new GgufError(part, `says it is part ${number + 1}, expected part ${index + 1} of ${count}`);
    headers.push(header);
  }
  const main = headers[0]!;
  const tensors = headers.flatMap((header) => header.tensors);
  const declared = main.metadata.get('split.tensors.count');
  if (typeof declared === 'number' && declared !== tensors.length) {
    throw new GgufError(path, `the split model declares ${declared} tensors, but its ${count} files hold ${tensors.length}`);
  }
  return { ...main, tensors, tensorCount: tensors.length, fileSize: headers.reduce((total, header) => total + header.fileSize, 0), parts };
}
