/**
 * One HTTP request that follows redirects itself, so it can keep a tight limit, refuse
 * non-HTTP targets, and drop the Authorization header when a redirect leaves the origin (the
 * Hugging Face token must never reach the CDN that serves the bytes).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { describeNetworkFailure } from './describe-network-failure.js';
import { DownloadError } from './download-error.js';

/** How to send a request and how far to follow redirects. */
export interface RequestOptions {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Longest wait for headers, and longest silence inside a body, in milliseconds. */
  timeoutMs?: number;
  /** Redirects followed before giving up. */
  maxRedirects?: number;
  /** Stops at a redirect whose headers already answer the question (Hugging Face's HEAD). */
  stopAt?: (headers: IncomingHttpHeaders) => boolean;
}

/** The final response, and the URL that answered it. */
export type FollowedResponse = Awaited<ReturnType<typeof request>> & { url: string };

const defaults = { timeoutMs: 30_000, maxRedirects: 5 };
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** Sends `options.method` to `url`, following up to `maxRedirects` redirects; network failures become DownloadError. */
export async function requestFollowingRedirects(url: string, options: RequestOptions): Promise<FollowedResponse> {
  const { timeoutMs, maxRedirects } = { ...defaults, ...options };
  let current = new URL(url);
  let headers = { ...options.headers };
  for (let redirects = 0; ; redirects += 1) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw new DownloadError(`the server redirected to ${current.protocol} URL, which is not HTTP`, { retryable: false });
    }
    let response;
    try {
      response = await request(current, { method: options.method, headers, signal: options.signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const reason = describeNetworkFailure(error, current.href) ?? `the request to ${current.host} failed (${(error as Error).message})`;
      throw new DownloadError(reason, { retryable: true, cause: error });
    }
    const location = firstHeader(response.headers, 'location');
    if (!redirectStatuses.has(response.statusCode) || location === undefined || options.stopAt?.(response.headers)) {
      return Object.assign(response, { url: current.href });
    }
    await response.body.dump();
    if (redirects >= maxRedirects) {
      throw new DownloadError(`more than ${maxRedirects} redirects starting at ${url}`, { retryable: false, status: response.statusCode });
    }
    const next = new URL(location, current);
    if (next.origin !== current.origin) headers = withoutAuthorization(headers);
    current = next;
  }
}

/** The first value of a response header, which Node may give as an array. */
export function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}
