/**
 * The Store contract: everything Nimbus persists goes through it. SQLite implements it by
 * default, PostgreSQL for scale-out; one contract test suite runs on both.
 */
import type { AlertStore } from './alerts.js';
import type { AppStore } from './app-store.js';
import type { BatchStore } from './batch-store.js';
import type { DeviceStore } from './device-store.js';
import type { KnowledgeStore } from './knowledge-store.js';
import type { ResponseStore } from './response-store.js';
import type { PoolStore } from './pool-store.js';
import type { TenancyStore } from './tenancy-store.js';

/**
 * Final status of a request, as the request log records it: `ok` served; `error` failed (the
 * engine, an upstream, a timeout); `cancelled` the client left or the server gave up on it
 * (whatever the engine then threw); `refused` turned away before it ran (a limit, a budget, a
 * scope), so nothing was served or charged.
 */
export type RequestStatus = 'ok' | 'error' | 'cancelled' | 'refused';

/**
 * One row of the request log, which is also the usage ledger: written for every inference
 * request, including failures, refusals and clients that left, with who made it and what it cost.
 */
export interface RequestLogEntry {
  id: string;
  /** Unix milliseconds when the request arrived. */
  createdAt: number;
  /** `chat`, `completion`, `embedding`. */
  kind: string;
  /**
   * The model that served it (after aliases and fallbacks), whose prices it was billed at; the
   * model the name stood for when nothing served (a refusal, a failure before any try).
   */
  model: string;
  /** The model name the client asked for (an alias, or the first of a fallback chain); null on rows older than this column. */
  requestedModel: string | null;
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
  /**
   * Every try at serving it, in order, as `model@replica (error)` joined by `, `: retries on
   * other replicas and fallbacks to other models show here. Null when nothing was tried.
   */
  route: string | null;
  /** True when an upstream gave no usage and the token counts were estimated here. */
  usageEstimated: boolean;
  /** The tenant billed (`default` in local mode). */
  tenantId: string;
  /** The API key's id (`key_...`, never the key); null in local mode. */
  keyId: string | null;
  /** The pool deployment that served it, where the pool served it. */
  deployment: string | null;
  /** The pool worker that computed it, where the engine reported one. */
  worker: string | null;
  /** The device class that computed it (`cpu`, `cuda`, `nvidia-h100`); null for upstreams. */
  deviceClass: string | null;
  /** Seconds the request held a device (a slot); 0 for upstreams. */
  computeSeconds: number;
  /** What it cost, in billionths of a US dollar (integers, so sums are exact). */
  costNanoUsd: number;
  /**
   * The id the client got, where this row is one of several billed calls made for one client
   * request (a later turn of the device tool loop, a turn of a response, a batch's line): the
   * first call's row has that id itself and no parent. Null for a call of its own.
   */
  parentId: string | null;
  /** The app (and its version) the call was made for; null outside apps. */
  appId: string | null;
  appVersion: string | null;
  /** The batch the call belongs to; null for interactive calls. */
  batchId: string | null;
}

/** Filters for reading the request log, newest first. */
export interface RequestLogQuery {
  model?: string;
  tenantId?: string;
  keyId?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** The most rows one page of the request log may hold. */
export const maxRequestPageRows = 500;

/** The last row of a page of the request log: the next page starts strictly after (older than) it. */
export interface RequestLogCursor {
  createdAt: number;
  id: string;
}

/**
 * A search of the request log, newest first by (created_at, id), a page at a time (keyset
 * pagination: each page costs the same however deep it is). Every field narrows; absent is any.
 */
export interface RequestLogSearch {
  tenantId?: string;
  /** One key, or the keys a key prefix matched; an empty list matches nothing. */
  keyIds?: readonly string[];
  model?: string;
  status?: RequestStatus;
  appId?: string;
  /** Unix ms, inclusive. */
  since?: number;
  /** Unix ms, exclusive. */
  until?: number;
  after?: RequestLogCursor;
  limit: number;
}

/** Persistence for Nimbus. Methods are async so a network database fits the same shape. */
export interface Store {
  /** Queues a request-log row; it is durable and queryable after the next `flush`. */
  recordRequest(entry: RequestLogEntry): void;
  /** Writes every queued row now. */
  flush(): Promise<void>;
  /**
   * Deletes request-log rows made before `before` (unix ms), keeping their hourly sums: usage over
   * that range is still answered, by whole hours. Resolves to how many rows went.
   */
  pruneLedger(before: number): Promise<number>;
  listRequests(query?: RequestLogQuery): Promise<RequestLogEntry[]>;
  /** A page of the request log for the request-log view (indexes: migration 0043, decision 0019). */
  searchRequests(search: RequestLogSearch): Promise<RequestLogEntry[]>;
  /** One request-log row by its id (flushed rows only); undefined when there is none. */
  getRequest(id: string): Promise<RequestLogEntry | undefined>;
  /** Resolves when the database answers a trivial query (readiness); rejects with why not. */
  ping(): Promise<void>;
  /** Devices, twins, commands, approvals, emergency stops and the audit log (`device-store.ts`). */
  readonly devices: DeviceStore;
  /** Tenants, API keys and sums over the ledger (`tenancy-store.ts`). */
  readonly tenancy: TenancyStore;
  /** Join tokens, workers, deployments and replicas of the pool (`pool-store.ts`). */
  readonly pool: PoolStore;
  /** Files, vector stores, their chunks and the lexical index (`knowledge-store.ts`). */
  readonly knowledge: KnowledgeStore;
  /** Stored `/v1/responses` objects and their input items (`response-store.ts`). */
  readonly responses: ResponseStore;
  /** Batches and their lines' results (`batch-store.ts`). */
  readonly batches: BatchStore;
  /** Apps, their versions and their end users' memory (`app-store.ts`). */
  readonly apps: AppStore;
  /** Alerts, one row per condition, firing or resolved (`alerts.ts`). */
  readonly alerts: AlertStore;
  /** Flushes and closes connections. Idempotent. */
  close(): Promise<void>;
}
