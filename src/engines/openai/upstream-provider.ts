/**
 * One OpenAI-compatible server: a keep-alive connection pool (undici's Pool, not fetch: fetch and
 * web streams cost several times more per request), the headers every request carries, and its
 * timeouts. The API key is read from the environment once and lives only in those headers; it
 * is never in config, never in a log line, and redacted from anything the upstream echoes back.
 */
import { Pool } from 'undici';
import { ConfigError, type ProviderConfig } from '../../core/config.js';

/** Timeouts of one provider, in milliseconds. */
export interface ProviderTimeouts {
  connectMs: number;
  firstTokenMs: number;
  idleMs: number;
  requestMs: number;
}

export class UpstreamProvider {
  readonly id: string;
  readonly pool: Pool;
  /** Path of the API on the server (`/v1`), without a trailing slash. */
  readonly basePath: string;
  /** The base URL as /v1/models and messages show it (it never holds credentials). */
  readonly location: string;
  readonly timeouts: ProviderTimeouts;
  /** Headers sent with every request: content type, configured headers, the API key. */
  readonly headers: Readonly<Record<string, string>>;
  /** Request fields Nimbus does not know that this provider gets: all of them, or these. */
  readonly forwardFields: 'all' | ReadonlySet<string>;
  /** Where a chat request's output cap goes (`max_tokens` or `max_completion_tokens`). */
  readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** Values that must never leave this process: the key and configured header values. */
  private readonly secrets: string[];

  constructor(config: ProviderConfig, environment: Readonly<Record<string, string | undefined>>) {
    this.id = config.id;
    const url = new URL(config.baseUrl);
    if (url.username || url.password) {
      throw new ConfigError(
        `Provider '${config.id}': the baseUrl holds credentials. Put the API key in an environment variable and name it in apiKeyEnv instead.`,
      );
    }
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.location = `${url.origin}${this.basePath}`;
    let key: string | undefined;
    if (config.apiKeyEnv) {
      key = environment[config.apiKeyEnv];
      if (!key) {
        throw new ConfigError(
          `Provider '${config.id}' reads its API key from the environment variable ${config.apiKeyEnv}, which is not set. Set it (export ${config.apiKeyEnv}=...) or remove apiKeyEnv from the provider.`,
        );
      }
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
    if (key) headers.authorization = `Bearer ${key}`;
    this.headers = headers;
    this.forwardFields = config.forwardFields.includes('*') ? 'all' : new Set(config.forwardFields);
    this.maxTokensField = config.maxTokensField;
    this.secrets = [key, ...Object.values(config.headers)].filter((value): value is string => typeof value === 'string' && value.length >= 8);
    this.timeouts = {
      connectMs: config.connectTimeoutMs,
      firstTokenMs: config.firstTokenTimeoutMs,
      idleMs: config.idleTimeoutMs,
      requestMs: config.requestTimeoutMs,
    };
    // Timeouts are enforced per request by the engine (first token, idle gap, whole answer),
    // so undici's own header and body timeouts are off.
    this.pool = new Pool(url.origin, { connections: config.maxConnections, connectTimeout: config.connectTimeoutMs, headersTimeout: 0, bodyTimeout: 0 });
  }

  /** `text` with every secret of this provider replaced (an upstream may echo its key in an error). */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** Closes the connections once requests in flight are done. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
