/**
 * Why one try at an upstream failed, in three answers: the error a client would get (OpenAI's
 * shape, with the upstream's status where it means something to the client), whether another
 * try may help, and what it says about the replica's health (its breaker's verdict).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { errorCatalog, NimbusError, type ErrorCode } from '../../core/errors.js';
import type { Verdict } from './replica.js';
import { retryAfterMs } from './retry-policy.js';
import type { UpstreamProvider } from './upstream-provider.js';

export class AttemptFailure extends Error {
  constructor(
    readonly error: NimbusError,
    /** Another try (another replica, or later) may succeed. */
    readonly retryable: boolean,
    readonly verdict: Verdict,
    /** The upstream asked not to be sent requests for this long (429/503 with Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
    this.name = 'AttemptFailure';
  }
}

/** A deadline of the engine's own passed (first token, idle gap, whole answer); used as the abort reason. */
export class UpstreamTimeout extends Error {
  constructor(
    readonly waitingFor: string,
    readonly ms: number,
  ) {
    super(`no ${waitingFor} within ${ms} ms`);
    this.name = 'UpstreamTimeout';
  }
}

/** The upstream's own words from an error body: OpenAI's `{error:{message,code,param}}`, FastAPI's `{detail}`, or text. */
function upstreamWords(body: string): { message: string; code?: string; param?: string | null } {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; detail?: unknown; message?: unknown };
    const error = parsed.error ?? parsed;
    if (typeof error === 'string') return { message: error };
    const fields = error as { message?: unknown; code?: unknown; param?: unknown };
    const message = fields.message ?? parsed.detail ?? parsed.message;
    return {
      message: typeof message === 'string' ? message : JSON.stringify(message ?? parsed),
      ...(typeof fields.code === 'string' ? { code: fields.code } : {}),
      ...(typeof fields.param === 'string' ? { param: fields.param } : {}),
    };
  } catch {
    const text = body.trim();
    return { message: text === '' ? '(empty body)' : text.slice(0, 500) };
  }
}

/** A code the client may see for a request the upstream found wrong: the upstream's own where it is one of ours. */
function clientErrorCode(status: number, code: string | undefined): ErrorCode {
  if (code && code in errorCatalog && errorCatalog[code as ErrorCode].status < 500 && errorCatalog[code as ErrorCode].status !== 429) return code as ErrorCode;
  return status === 413 ? 'request_too_large' : 'invalid_request';
}

/** An upstream answered with a non-2xx status. */
export function failureFromStatus(provider: UpstreamProvider, status: number, headers: IncomingHttpHeaders, body: string, nowMs: number): AttemptFailure {
  const words = upstreamWords(provider.redact(body));
  const wait = retryAfterMs(headers, nowMs);
  const said = `The upstream '${provider.id}' answered ${status}: ${words.message}`;
  if (status === 429) {
    const retryAfter: Record<string, string> = wait === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) };
    return new AttemptFailure(new NimbusError('rate_limit_exceeded', `${said}. Retry later.`, { headers: retryAfter }), true, 'none', wait);
  }
  if (status === 408) return new AttemptFailure(new NimbusError('upstream_timeout', said), true, 'failure');
  if (status >= 500) {
    // 502/503/504 mean the same to the client as to us; a plain 500 from behind a gateway is a 502.
    const passed = status === 502 || status === 503 || status === 504 ? status : 502;
    return new AttemptFailure(new NimbusError('upstream_error', said, { status: passed }), true, 'failure', status === 503 ? wait : undefined);
  }
  if (status === 401 || status === 403) {
    const message = `${said}. Nimbus's credentials for this provider were refused: check the API key in the environment variable named by its apiKeyEnv.`;
    return new AttemptFailure(new NimbusError('upstream_error', message), true, 'failure');
  }
  if (status === 404) {
    const message = `${said}. The provider does not know this model or route: check upstreamModel and that baseUrl ends where the API lives (usually /v1).`;
    return new AttemptFailure(new NimbusError('upstream_error', message), true, 'failure');
  }
  // The request itself is wrong (400, 413, 422, ...): the client should see the upstream's answer as is.
  const error = new NimbusError(clientErrorCode(status, words.code), words.message, { status, param: words.param ?? null });
  return new AttemptFailure(error, false, 'success');
}

/** Words for a network error: the errno or undici code, never headers. */
function describeNetworkError(error: unknown): string {
  const failure = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof failure.code === 'string' ? failure.code : typeof failure.cause?.code === 'string' ? failure.cause.code : undefined;
  const message = typeof failure.message === 'string' ? failure.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** The connection failed, timed out, or broke before a whole answer came. */
export function failureFromError(provider: UpstreamProvider, error: unknown): AttemptFailure {
  if (error instanceof AttemptFailure) return error;
  if (error instanceof UpstreamTimeout) {
    return new AttemptFailure(new NimbusError('upstream_timeout', `The upstream '${provider.id}' sent ${error.message}.`), true, 'failure');
  }
  const words = provider.redact(describeNetworkError(error));
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new AttemptFailure(new NimbusError('upstream_timeout', `Could not connect to the upstream '${provider.id}' in time: ${words}.`), true, 'failure');
  }
  return new AttemptFailure(new NimbusError('upstream_error', `The connection to the upstream '${provider.id}' failed: ${words}.`), true, 'failure');
}

/** The upstream answered 200 with something that is not an OpenAI answer. */
export function malformedAnswer(provider: UpstreamProvider, what: string): AttemptFailure {
  return new AttemptFailure(new NimbusError('upstream_error', `The upstream '${provider.id}' sent ${what}.`), true, 'failure');
}
