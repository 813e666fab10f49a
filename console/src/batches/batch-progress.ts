/**
 * What the Batches page says of one batch: how far it is (lines done of all, as a percentage for
 * the bar), whether it still moves (the page polls while any does), and which actions it allows.
 */

/** A batch as `/v1/batches` shows it, as far as the page reads it. */
export interface BatchView {
  id: string;
  endpoint: string;
  status: 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
  input_file_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  errors: { data: Array<{ code?: string; message: string; line?: number | null }> } | null;
  created_at: number;
  completed_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  usage?: { input_tokens: number; output_tokens: number; total_tokens: number };
  metadata?: Record<string, string> | null;
}

/** Statuses after which nothing changes. */
const settled = new Set<BatchView['status']>(['failed', 'completed', 'expired', 'cancelled']);

export interface BatchProgress {
  /** Lines answered (ok or error) of all, 0-100; 100 once the batch has settled with every line. */
  percent: number;
  text: string;
  /** Still changing: the page reads the list again while any batch is. */
  moving: boolean;
  cancellable: boolean;
}

export function batchProgress(batch: BatchView): BatchProgress {
  const { total, completed, failed } = batch.request_counts;
  const done = completed + failed;
  const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : settled.has(batch.status) ? 100 : 0;
  const failedText = failed > 0 ? `, ${failed} failed` : '';
  let text: string;
  if (batch.status === 'validating') text = 'checking the input file';
  else if (batch.status === 'failed') text = `input refused: ${batch.errors?.data[0]?.message ?? 'see the errors'}`;
  else if (total === 0) text = 'no lines yet';
  else text = `${done} of ${total} lines done${failedText}`;
  return {
    percent,
    text,
    moving: !settled.has(batch.status),
    cancellable: batch.status === 'validating' || batch.status === 'in_progress',
  };
}
