/**
 * A cheap check that a path holds a GGUF model, before an engine spends seconds failing on it:
 * the file exists, is a file, and starts with the 4-byte magic `GGUF`.
 */
import { open } from 'node:fs/promises';

const magic = Buffer.from('GGUF', 'ascii');

/** Resolves when `path` is a readable file starting with the GGUF magic; throws an Error that says what to do otherwise. */
export async function assertGgufFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new Error(describeOpenFailure(path, error));
  }
  try {
    const head = Buffer.alloc(magic.length);
    const { bytesRead } = await handle.read(head, 0, magic.length, 0);
    if (bytesRead < magic.length || !head.equals(magic)) {
      throw new Error(
        `${path} is not a GGUF file (it does not start with the bytes 'GGUF'). Nimbus serves GGUF models: download one with 'nimbus pull hf:OWNER/REPO/FILE.gguf', or convert this one with llama.cpp's convert_hf_to_gguf.py.`,
      );
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new Error(describeOpenFailure(path, error));
    throw error;
  } finally {
    await handle.close();
  }
}

function describeOpenFailure(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `Model file not found: ${path}. Check the path, or download a model with 'nimbus pull hf:OWNER/REPO/FILE.gguf'.`;
    case 'EISDIR':
      return `${path} is a folder, not a model file. Give the path of a .gguf file inside it.`;
    case 'EACCES':
    case 'EPERM':
      return `Cannot read ${path}: permission denied. Make the file readable by this user.`;
    default:
      return `Cannot read ${path}: ${(error as Error).message}.`;
  }
}
