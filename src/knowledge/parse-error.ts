/** Why a file cannot be indexed, in OpenAI's `last_error` codes. */
export class FileParseError extends Error {
  constructor(
    readonly code: 'unsupported_file' | 'invalid_file',
    message: string,
  ) {
    super(message);
    this.name = 'FileParseError';
  }
}
