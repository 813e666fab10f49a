/** A download that failed; the message says why in words a user can act on. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  /** True when running the same command again may succeed (network trouble, a cut connection). */
  readonly retryable: boolean;
  /** The HTTP status that ended the download, when a server answered. */
  readonly status: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status;
  }
}
