/**
 * The error a user sees when a model cannot be fetched: which model, why, and the exact command
 * that tries again or avoids the download altogether.
 */
import { DownloadError } from './download-error.js';

/** A model that could not be downloaded; the message names the retry command and the local-file alternative. */
export class ModelDownloadError extends Error {
  override name = 'ModelDownloadError';
  /** The reference as the user would type it. */
  readonly ref: string;
  /** True when the same command may succeed later (network trouble); false when the reference or access must change. */
  readonly retryable: boolean;

  constructor(ref: string, reason: string, options: { retryable: boolean; cause?: unknown }) {
    const local = "'nimbus serve --model /path/to/model.gguf'";
    const next = options.retryable ? `Run 'nimbus pull ${ref}' to try again, or serve a local file with ${local}` : `To serve a local file instead: ${local}`;
    super(`The model ${ref} could not be downloaded: ${reason.replace(/\.$/, '')}. ${next}.`, {
      cause: options.cause,
    });
    this.ref = ref;
    this.retryable = options.retryable;
  }
}

/** Wraps any failure of fetching `ref` as a ModelDownloadError, keeping the reason's words. */
export function toModelDownloadError(ref: string, error: unknown): ModelDownloadError {
  if (error instanceof ModelDownloadError) return error;
  if (error instanceof DownloadError) return new ModelDownloadError(ref, error.message, { retryable: error.retryable, cause: error });
  return new ModelDownloadError(ref, (error as Error).message, { retryable: true, cause: error });
}
