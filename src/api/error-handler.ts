/**
 * Every error leaves the server in OpenAI's shape with the right status, never a stack trace.
 * Fastify's own errors (bad JSON, body too large, wrong content type) are mapped to the catalog.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NimbusError, toNimbusError } from '../core/errors.js';

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

/** Installs the error and not-found handlers. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler(async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const failure = error instanceof NimbusError ? error : (fromFastify(error, bodyLimit) ?? toNimbusError(error));
    if (failure.status >= 500 && failure.code === 'internal_error') request.log.error({ err: error }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return reply;
    if (failure.code === 'request_too_large') await drain(request.raw);
    return reply.code(failure.status).headers(failure.headers).send(failure.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const failure = new NimbusError('not_found', `Unknown route: ${request.method} ${request.url.split('?')[0]}. See the README for the API.`);
    void reply.code(404).send(failure.toJSON());
  });
}
