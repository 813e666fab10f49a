/**
 * The error catalog: every error Nimbus returns has a stable code, and one table maps each code
 * to its HTTP status and OpenAI error type, so the HTTP layer never guesses.
 */
import type { Usage } from './openai/response-types.js';

/** Stable error codes. Clients may branch on these; never rename one. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_type'
  | 'invalid_value'
  | 'missing_required_parameter'
  | 'unsupported_parameter'
  | 'unsupported_value'
  | 'invalid_schema'
  | 'context_length_exceeded'
  | 'output_validation_failed'
  | 'unsupported_media_type'
  | 'request_too_large'
  | 'storage_quota_exceeded'
  | 'not_found'
  | 'model_not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'emergency_stop'
  | 'device_offline'
  | 'device_timeout'
  | 'invalid_api_key'
  | 'permission_denied'
  | 'rate_limit_exceeded'
  | 'insufficient_quota'
  | 'limits_unavailable'
  | 'queue_full'
  | 'model_not_ready'
  | 'no_model'
  | 'shutting_down'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'worker_lost'
  | 'internal_error';

interface CatalogEntry {
  status: number;
  type: string;
  retryable: boolean;
}

const invalid = { status: 400, type: 'invalid_request_error', retryable: false } as const;

/** code -> HTTP status, OpenAI error type, and whether a client may retry the same request. */
export const errorCatalog: Record<ErrorCode, CatalogEntry> = {
  invalid_json: invalid,
  invalid_request: invalid,
  invalid_type: invalid,
  invalid_value: invalid,
  missing_required_parameter: invalid,
  unsupported_parameter: invalid,
  unsupported_value: invalid,
  invalid_schema: invalid,
  context_length_exceeded: invalid,
  // The model gave no output satisfying the client's schema in several tries: another try may succeed.
  output_validation_failed: { status: 422, type: 'invalid_request_error', retryable: true },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', retryable: false },
  request_too_large: { status: 413, type: 'invalid_request_error', retryable: false },
  // A tenant's files fill its storage quota: deleting files (or a larger quota) makes room.
  storage_quota_exceeded: { status: 413, type: 'invalid_request_error', retryable: false },
  not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  model_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  method_not_allowed: { status: 405, type: 'invalid_request_error', retryable: false },
  conflict: { status: 409, type: 'invalid_request_error', retryable: false },
  emergency_stop: { status: 409, type: 'invalid_request_error', retryable: false },
  device_offline: { status: 409, type: 'invalid_request_error', retryable: true },
  // The command was sent: it may have acted, so a retry could act twice.
  device_timeout: { status: 504, type: 'device_error', retryable: false },
  invalid_api_key: { status: 401, type: 'authentication_error', retryable: false },
  permission_denied: { status: 403, type: 'permission_error', retryable: false },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', retryable: true },
  insufficient_quota: { status: 429, type: 'insufficient_quota', retryable: false },
  limits_unavailable: { status: 503, type: 'service_unavailable', retryable: true },
  queue_full: { status: 429, type: 'rate_limit_error', retryable: true },
  model_not_ready: { status: 503, type: 'service_unavailable', retryable: true },
  // Only a person clears it (pull a model): the same request retried fails the same way.
  no_model: { status: 503, type: 'service_unavailable', retryable: false },
  shutting_down: { status: 503, type: 'service_unavailable', retryable: true },
  upstream_error: { status: 502, type: 'upstream_error', retryable: true },
  upstream_timeout: { status: 504, type: 'upstream_error', retryable: true },
  worker_lost: { status: 503, type: 'service_unavailable', retryable: true },
  internal_error: { status: 500, type: 'server_error', retryable: true },
};

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error a user can act on: its message says what went wrong and how to fix it. */
export class NimbusError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  /** Overrides the catalog's status where an upstream's own status is more meaningful. */
  readonly statusOverride: number | undefined;
  /** Extra response headers, such as Retry-After. */
  readonly headers: Record<string, string>;

  /** Tokens generated before a failure mid-generation, so the request log still counts them. */
  readonly usage: Usage | undefined;

  /** Fields added to the error object (a command's id and state) and beside it (a chat's actions taken). */
  readonly details: Record<string, unknown>;
  readonly extra: Record<string, unknown>;
  /** Facts a caller inside the server may act on (a prompt's token count), never sent to the client. */
  readonly facts: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      param?: string | null;
      status?: number;
      headers?: Record<string, string>;
      usage?: Usage;
      cause?: unknown;
      details?: Record<string, unknown>;
      extra?: Record<string, unknown>;
      facts?: Record<string, unknown>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'NimbusError';
    this.code = code;
    this.param = options.param ?? null;
    this.statusOverride = options.status;
    this.headers = options.headers ?? {};
    this.usage = options.usage;
    this.details = options.details ?? {};
    this.extra = options.extra ?? {};
    this.facts = options.facts ?? {};
  }

  get status(): number {
    return this.statusOverride ?? errorCatalog[this.code].status;
  }

  get retryable(): boolean {
    return errorCatalog[this.code].retryable;
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: errorCatalog[this.code].type, param: this.param, code: this.code, ...this.details }, ...this.extra };
  }
}

/** Whether a value is a NimbusError (also across module copies). */
export function isNimbusError(value: unknown): value is NimbusError {
  return value instanceof NimbusError;
}

/** Turns anything thrown into a NimbusError; unknown errors become a 500 that hides internals. */
export function toNimbusError(value: unknown): NimbusError {
  if (isNimbusError(value)) return value;
  return new NimbusError('internal_error', 'The server had an error while processing your request.', { cause: value });
}
