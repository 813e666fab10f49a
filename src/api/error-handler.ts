/**
 * Every error leaves the server in OpenAI's shape with the right status, never a stack trace.
 * Fastify's own errors (bad JSON, body too large, wrong content type) are mapped to the catalog.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError, toNimbusError } from '../core/errors.js';
import { newTimeOrderedId } from '../core/ids.js';
import type { Metrics } from './metrics.js';

/** How much of a body past the limit is read and dropped before the 413 goes out, at most. */
const drainBytes = 64 * 1024 * 1024;
const drainMs = 10_000;

/**
 * Reads and drops the rest of a request body (up to a bound). Answering 413 at once and closing,
 * as Fastify does, resets a connection the client is still writing to: Node's http, fetch and the
 * openai SDK then report a connection error instead of the 413. Once the body is in, the answer
 * reaches them; a client sending more than the bound, or too slowly, is cut off as before.
 */
function drain(raw: IncomingMessage): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let received = 0;
    const finish = (): void => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', finish);
      raw.off('close', finish);
      raw.off('error', finish);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > drainBytes) finish();
    };
    const timer = setTimeout(finish, drainMs);
    raw.on('data', onData);
    raw.on('end', finish);
    raw.on('close', finish);
    raw.on('error', finish);
    raw.resume();
  });
}

/** Fastify error codes and what they mean for a client. */
function fromFastify(error: FastifyError, bodyLimit: number): NimbusError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new NimbusError(
        'request_too_large',
        `The request body is larger than the limit of ${bodyLimit} bytes. Send a smaller request (the limit is the bodyLimit setting).`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new NimbusError('unsupported_media_type', "Unsupported Content-Type: send the body as JSON with 'Content-Type: application/json'.");
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new NimbusError('invalid_json', "The request body is empty; send a JSON object with 'Content-Type: application/json'.");
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new NimbusError('invalid_request', 'The Content-Length header does not match the body.');
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new NimbusError('invalid_json', `We could not parse the JSON body of your request: ${error.message}. Send a valid JSON object.`);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new NimbusError('invalid_request', error.message, { status: error.statusCode });
  }
  return undefined;
}

/** Route patterns by method, to tell a wrong method (405) from an unknown path (404). */
class KnownRoutes {
  private readonly patterns: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  private readonly byUrl = new Map<string, Set<string>>();

  add(url: string, methods: string | string[]): void {
    let known = this.byUrl.get(url);
    if (!known) {
      known = new Set();
      this.byUrl.set(url, known);
      const source = url
        .split('/')
        .map((part) => (part.startsWith(':') || part === '*' ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      this.patterns.push({ pattern: new RegExp(`^${source}$`), methods: known });
    }
    for (const method of Array.isArray(methods) ? methods : [methods]) known.add(method);
  }

  /** The methods a path answers to (none: unknown path). */
  methodsOf(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: known } of this.patterns) if (pattern.test(path)) for (const method of known) methods.add(method);
    return [...methods];
  }
}

/** The answer to a method and path no route serves: 405 with `allow` when the path exists, else 404. */
function noRoute(routes: KnownRoutes, request: FastifyRequest): NimbusError {
  const path = request.url.split('?')[0]!;
  const allowed = routes.methodsOf(path).filter((method) => method !== 'HEAD');
  if (allowed.length > 0) {
    return new NimbusError('method_not_allowed', `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}.`, {
      headers: { allow: allowed.join(', ') },
    });
  }
  return new NimbusError('not_found', `Unknown route: ${request.method} ${path}. See the README for the API.`);
}

/**
 * Installs the error and not-found handlers. Every error answer carries `x-request-id` (the
 * request's own where a route set one) and is counted in /metrics by status and code.
 */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number, metrics: Metrics): void {
  const routes = new KnownRoutes();
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));
  const answer = (request: FastifyRequest, reply: FastifyReply, failure: NimbusError): FastifyReply => {
    metrics.countError(failure.status, failure.code);
    if (!reply.hasHeader('x-request-id')) reply.header('x-request-id', newTimeOrderedId('req_'));
    // The official SDKs retry 408, 409, 429 and 5xx unless told not to: an error a retry cannot fix says so.
    if (!failure.retryable) reply.header('x-should-retry', 'false');
    return reply.code(failure.status).headers(failure.headers).send(failure.toJSON());
  };
  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A method and path no route serves, with a JSON content type and no (or a bad) body: the body
    // parser's complaint would hide that the route itself is wrong.
    const bodyComplaint = !(error instanceof NimbusError) && typeof error.code === 'string' && error.code.startsWith('FST_ERR_CTP_');
    const failure =
      request.is404 && bodyComplaint
        ? noRoute(routes, request)
        : error instanceof NimbusError
          ? error
          : (fromFastify(error, bodyLimit) ?? toNimbusError(error));
    if (failure.status >= 500 && failure.code === 'internal_error') request.log.error({ err: error }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return reply;
    if (failure.status === 413) await drain(request.raw);
    return answer(request, reply, failure);
  });
  app.setNotFoundHandler((request, reply) => answer(request, reply, noRoute(routes, request)));
}
