/**
 * Where a finished billed call is reported besides the ledger: Prometheus counters, the access
 * log and a logger for what an operator must hear about. The HTTP layer's `Metrics` and
 * `AccessLog` implement these; tenancy names only the shapes, so it never imports the HTTP layer.
 */
import type { Usage } from '../../core/openai/response-types.js';

/** What the meter counts: one finished billed call. */
export interface FinishedRequest {
  /** The call's kind (`chat`, `completion`, `embedding`). */
  route: string;
  /** The model that served it (the one it was billed at). */
  model: string;
  /** The HTTP status, as text. */
  status: string;
  tenant: string;
  durationSeconds: number;
  usage: Usage | undefined;
  ttftSeconds: number | null;
  computeSeconds: number;
  costNanoUsd: number;
  /** The app and version it served, where it served one. */
  app?: { id: string; version: string } | undefined;
}

/** Counts finished calls (Prometheus). */
export interface RequestMeter {
  recordRequest(finished: FinishedRequest): void;
}

/** One access-log line per finished call: plain JSON fields, then the message. */
export interface AccessLine {
  info(fields: Record<string, unknown>, msg: string): void;
}

/** Warnings for the operator (an engine that reported nonsense usage). */
export interface AccountingLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}
