/** A finished billed call as the live feed shows it: what the overview's charts need, no prompt or answer text. */
import type { LiveEvent } from '../../core/live-events.js';
import type { RequestLogEntry } from '../../core/store.js';

export function requestLiveEvent(entry: RequestLogEntry): LiveEvent {
  return {
    type: 'request',
    tenantId: entry.tenantId,
    keyId: entry.keyId,
    deviceId: null,
    adminOnly: false,
    data: {
      id: entry.id,
      created_at_ms: entry.createdAt,
      at: entry.createdAt + entry.durationMs,
      kind: entry.kind,
      model: entry.model,
      requested_model: entry.requestedModel,
      parent_id: entry.parentId,
      status: entry.status,
      http_status: entry.httpStatus,
      prompt_tokens: entry.promptTokens,
      completion_tokens: entry.completionTokens,
      ttft_ms: entry.ttftMs,
      duration_ms: entry.durationMs,
      device_class: entry.deviceClass,
      served_by: entry.servedBy,
      cost_usd: entry.costNanoUsd / 1e9,
      key: entry.keyId,
      tenant: entry.tenantId,
      app_id: entry.appId,
      error_code: entry.errorCode,
    },
  };
}
