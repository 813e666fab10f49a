/**
 * The Store contract: everything Nimbus persists goes through it. SQLite implements it by
 * default, PostgreSQL for scale-out; one contract test suite runs on both.
 */

/** Final status of a request, as the request log records it. */
export type RequestStatus = 'ok' | 'error' | 'cancelled';

/** One row of the request log: written for every inference request, including failures. */
export interface RequestLogEntry {
  id: string;
  /** Unix milliseconds when the request arrived. */
  createdAt: number;
  /** `chat`, `completion`, `embedding`. */
  kind: string;
  model: string;
  /** HTTP status sent (or that would have been sent, for a client that left). */
  httpStatus: number;
  status: RequestStatus;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Milliseconds to the first token; null when no token was produced. */
  ttftMs: number | null;
  durationMs: number;
  finishReason: string | null;
  stream: boolean;
  errorCode: string | null;
  servedBy: string | null;
}

/** Filters for reading the request log, newest first. */
export interface RequestLogQuery {
  model?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** Persistence for Nimbus. Methods are async so a network database fits the same shape. */
export interface Store {
  /** Queues a request-log row; it is durable and queryable after the next `flush`. */
  recordRequest(entry: RequestLogEntry): void;
  /** Writes every queued row now. */
  flush(): Promise<void>;
  listRequests(query?: RequestLogQuery): Promise<RequestLogEntry[]>;
  /** Flushes and closes connections. Idempotent. */
  close(): Promise<void>;
}
