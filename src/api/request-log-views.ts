/**
 * The request log's wire shapes (`GET /v1/requests`): a ledger row as the API writes it, and the
 * opaque cursor of a page (its last row's time and id, base64url).
 */
import { NimbusError } from '../core/errors.js';
import type { RequestLogCursor, RequestLogEntry } from '../core/store.js';
import { nanoUsdToUsd } from '../tenancy/price-table.js';

/** A ledger row as `/v1/requests` shows it: no prompt or answer text, which the ledger never holds. */
export function requestView(entry: RequestLogEntry): Record<string, unknown> {
  return {
    object: 'request',
    id: entry.id,
    created_at: Math.floor(entry.createdAt / 1000),
    created_at_ms: entry.createdAt,
    tenant: entry.tenantId,
    key_id: entry.keyId,
    app_id: entry.appId,
    app_version: entry.appVersion,
    kind: entry.kind,
    model: entry.model,
    requested_model: entry.requestedModel,
    served_by: entry.servedBy,
    route: entry.route,
    deployment: entry.deployment,
    worker: entry.worker,
    device_class: entry.deviceClass,
    status: entry.status,
    http_status: entry.httpStatus,
    error_code: entry.errorCode,
    finish_reason: entry.finishReason,
    stream: entry.stream,
    prompt_tokens: entry.promptTokens,
    cached_tokens: entry.cachedTokens,
    completion_tokens: entry.completionTokens,
    total_tokens: entry.promptTokens + entry.completionTokens,
    usage_estimated: entry.usageEstimated,
    cost_usd: nanoUsdToUsd(entry.costNanoUsd),
    compute_seconds: entry.computeSeconds,
    ttft_ms: entry.ttftMs,
    duration_ms: entry.durationMs,
    parent_id: entry.parentId,
    batch_id: entry.batchId,
  };
}

/** The cursor after `entry`. */
export function encodeCursor(entry: RequestLogEntry): string {
  return Buffer.from(JSON.stringify([entry.createdAt, entry.id])).toString('base64url');
}

/** A cursor as `encodeCursor` wrote it; a 400 naming `after` otherwise. */
export function decodeCursor(value: string): RequestLogCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0]) && typeof parsed[1] === 'string') {
      return { createdAt: parsed[0] as number, id: parsed[1] };
    }
  } catch {
    // Falls through to the refusal below.
  }
  throw new NimbusError('invalid_value', "Invalid value for 'after': pass the next_cursor of the previous page unchanged.", { param: 'after' });
}
