/** Raised for files that are not GGUF, are truncated or corrupt, or use a version Nimbus cannot read. */
export class GgufError extends Error {
  override name = 'GgufError';

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
  }
}
