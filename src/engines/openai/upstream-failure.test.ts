import { describe, expect, test } from 'vitest';
import { failureFromError, failureFromStatus, UpstreamTimeout } from './upstream-failure.js';
import { UpstreamProvider } from './upstream-provider.js';

const provider = new UpstreamProvider(
  {
    id: 'gpu-a',
    baseUrl: 'http://127.0.0.1:9/v1',
    apiKeyEnv: 'KEY',
    headers: { 'x-org': 'org-secret-value' },
    connectTimeoutMs: 1000,
    firstTokenTimeoutMs: 1000,
    idleTimeoutMs: 1000,
    requestTimeoutMs: 1000,
    maxConnections: 1,
    forwardFields: [],
    maxTokensField: 'max_tokens',
  },
  { KEY: 'sk-secret-123456' },
);
const openaiError = (message: string, extra: object = {}) => JSON.stringify({ error: { message, type: 'x', param: null, code: null, ...extra } });

describe('failureFromStatus: what a client sees, whether to retry, what the breaker hears', () => {
  test.each([
    // status, client status, code, retryable, verdict
    [500, 502, 'upstream_error', true, 'failure'],
    [501, 502, 'upstream_error', true, 'failure'],
    [502, 502, 'upstream_error', true, 'failure'],
    [503, 503, 'upstream_error', true, 'failure'],
    [504, 504, 'upstream_error', true, 'failure'],
    [408, 504, 'upstream_timeout', true, 'failure'],
    [429, 429, 'rate_limit_exceeded', true, 'none'],
    [401, 502, 'upstream_error', true, 'failure'],
    [403, 502, 'upstream_error', true, 'failure'],
    [404, 502, 'upstream_error', true, 'failure'],
    [400, 400, 'invalid_request', false, 'success'],
    [413, 413, 'request_too_large', false, 'success'],
    [422, 422, 'invalid_request', false, 'success'],
  ] as const)('%i -> %i %s, retryable %s, breaker %s', (status, clientStatus, code, retryable, verdict) => {
    const failure = failureFromStatus(provider, status, {}, openaiError('nope'), 0);
    expect(failure.error.status).toBe(clientStatus);
    expect(failure.error.code).toBe(code);
    expect(failure.retryable).toBe(retryable);
    expect(failure.verdict).toBe(verdict);
  });

  test("a client error keeps the upstream's message, param and known code", () => {
    const failure = failureFromStatus(provider, 400, {}, openaiError('too long', { param: 'messages', code: 'context_length_exceeded' }), 0);
    expect(failure.error.toJSON()).toEqual({
      error: { message: 'too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    });
  });

  test('an unknown or server-side upstream code is not passed off as one of ours', () => {
    expect(failureFromStatus(provider, 400, {}, openaiError('x', { code: 'weird_code' }), 0).error.code).toBe('invalid_request');
    expect(failureFromStatus(provider, 400, {}, openaiError('x', { code: 'upstream_error' }), 0).error.code).toBe('invalid_request');
  });

  test('429 carries the wait and a Retry-After for the client', () => {
    const failure = failureFromStatus(provider, 429, { 'retry-after-ms': '1500' }, openaiError('slow down'), 0);
    expect(failure.retryAfterMs).toBe(1500);
    expect(failure.error.headers).toEqual({ 'retry-after': '2' });
    expect(failureFromStatus(provider, 429, {}, '', 0).retryAfterMs).toBeUndefined();
  });

  test('FastAPI details and plain text bodies become the message', () => {
    expect(failureFromStatus(provider, 422, {}, JSON.stringify({ detail: [{ msg: 'field required' }] }), 0).error.message).toContain('field required');
    expect(failureFromStatus(provider, 500, {}, '<html>Bad Gateway</html>', 0).error.message).toContain('<html>Bad Gateway</html>');
    expect(failureFromStatus(provider, 500, {}, '', 0).error.message).toContain('(empty body)');
  });

  test('secrets the upstream echoes are redacted: the key and configured header values', () => {
    const failure = failureFromStatus(provider, 401, {}, openaiError('bad key Bearer sk-secret-123456 for org-secret-value'), 0);
    expect(failure.error.message).not.toContain('sk-secret-123456');
    expect(failure.error.message).not.toContain('org-secret-value');
    expect(failure.error.message).toContain('bad key Bearer [redacted] for [redacted]');
  });
});

describe('failureFromError', () => {
  test('our own deadline is a retryable upstream_timeout that names what was awaited', () => {
    const failure = failureFromError(provider, new UpstreamTimeout('first token', 300));
    expect(failure.error.code).toBe('upstream_timeout');
    expect(failure.error.status).toBe(504);
    expect(failure.error.message).toBe("The upstream 'gpu-a' sent no first token within 300 ms.");
    expect(failure.retryable).toBe(true);
  });

  test('a refused connection is a retryable upstream_error naming the errno', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const failure = failureFromError(provider, error);
    expect(failure.error.message).toBe("The connection to the upstream 'gpu-a' failed: connect ECONNREFUSED 127.0.0.1:9.");
    expect(failure).toMatchObject({ retryable: true, verdict: 'failure' });
  });

  test("undici's connect timeout is an upstream_timeout", () => {
    const error = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
    expect(failureFromError(provider, error).error.code).toBe('upstream_timeout');
  });
});
