/**
 * What the batch runner asks of the layer that serves requests: run one line of a batch as the
 * request it names, on the one accounting path (admitted against the creator's day and month
 * budgets, priced with the batch discount, one ledger row marked with the batch), and say how
 * many tokens a line may use at most. The HTTP layer implements it (api/batch-lines.ts), so the
 * runner knows no engine and no route.
 */
import type { Cancellation } from '../core/cancellation.js';
import type { BatchEndpoint, BatchRecord, BatchUsage } from '../core/batch-store.js';
import type { BatchLine } from './batch-input.js';

/** One line to run. */
export interface LineJob {
  batch: BatchRecord;
  line: BatchLine;
  /** The ledger row's id, and the output line's `id` and `request_id`. */
  requestId: string;
  /** Cancelled when the batch is cancelled or expires, or the server stops. */
  cancel: Cancellation;
}

/** What a line answered: a 200 with the endpoint's body, or an error status with OpenAI's error body. */
export interface LineOutcome {
  statusCode: number;
  body: object;
  usage: BatchUsage;
  /** The failure is the server's state, not the request's (no replica ready, a full queue, an upstream that failed): run the line again later. */
  retryable?: boolean;
}

export interface LineExecutor {
  /** Tokens the line may use at most (the prompt's upper bound plus its output cap): counted against the key's enqueued-token limit. */
  estimateTokens(endpoint: BatchEndpoint, body: Record<string, unknown>): number;
  /** Runs the line; never rejects: a failure is an outcome with its status. */
  run(job: LineJob): Promise<LineOutcome>;
}
