/** A batch's output and error lines, in OpenAI's shape: `{id, custom_id, response: {status_code, request_id, body}, error}`. */
import type { BatchResult, BatchUsage } from '../core/batch-store.js';
import type { LineOutcome } from './line-executor.js';

const noUsage: BatchUsage = { inputTokens: 0, cachedTokens: 0, outputTokens: 0 };

/** The result of a line that was answered (200 into the output file, any other status into the error file). */
export function answeredResult(batchId: string, index: number, customId: string, requestId: string, outcome: LineOutcome): BatchResult {
  const ok = outcome.statusCode === 200;
  const line = JSON.stringify({
    id: requestId,
    custom_id: customId,
    response: { status_code: outcome.statusCode, request_id: requestId, body: outcome.body },
    error: null,
  });
  return { batchId, index, customId, requestId, ok, line, usage: outcome.usage };
}

/** The result of a line that never ran (its batch expired first): no response, an error with its code. */
export function unansweredResult(batchId: string, index: number, customId: string, requestId: string, code: string, message: string): BatchResult {
  const line = JSON.stringify({ id: requestId, custom_id: customId, response: null, error: { code, message } });
  return { batchId, index, customId, requestId, ok: false, line, usage: noUsage };
}
