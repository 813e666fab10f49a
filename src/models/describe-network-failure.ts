/**
 * Turns the error codes Node and undici raise for network trouble into words. A user offline
 * should read "could not be found (no network?)", not "getaddrinfo ENOTFOUND".
 */

/** Why a request could not reach `url`, or undefined when `error` is not a network failure. */
export function describeNetworkFailure(error: unknown, url: string): string | undefined {
  const code = errorCode(error);
  if (code === undefined) return undefined;
  const { host, hostname } = new URL(url);
  switch (code) {
    case 'ECONNREFUSED':
      return `the connection to ${host} was refused (nothing is listening there)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host ${hostname} could not be found (no network, or DNS is failing)`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connecting to ${host} timed out`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `${host} stopped answering (timed out)`;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return `the connection to ${host} was cut`;
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'ENETDOWN':
      return `the network cannot reach ${host}`;
    default:
      if (code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.includes('CERT')) {
        return `the TLS certificate of ${hostname} could not be verified (${code})`;
      }
      return undefined;
  }
}

// undici throws system errors directly, fetch wraps them in `cause`, and DNS errors of a
// happy-eyeballs connect come inside an AggregateError: look through all three.
function errorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || error === null || typeof error !== 'object') return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = errorCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return errorCode(cause, depth + 1);
}
