/**
 * A vector store's ingest shaped for the Knowledge page: how much of its files is done (completed,
 * failed or cancelled, out of all) as a percentage for the bar and a line of words, and whether
 * the page should keep polling.
 */
import type { FileCounts } from '../api/types.js';

/** The bar's whole percentage and its words. */
export interface IngestProgress {
  percent: number;
  text: string;
  /** True while any file is still being read, chunked or embedded. */
  busy: boolean;
}

/** The progress of a store's files from its `file_counts`. */
export function ingestProgress(counts: FileCounts): IngestProgress {
  const settled = counts.completed + counts.failed + counts.cancelled;
  const percent = counts.total > 0 ? Math.floor((settled / counts.total) * 100) : 100;
  const failed = counts.failed > 0 ? ` · ${counts.failed} failed` : '';
  if (counts.total === 0) return { percent, text: 'no files yet', busy: false };
  if (counts.in_progress > 0) return { percent, text: `indexing · ${settled} of ${counts.total} files done${failed}`, busy: true };
  return { percent, text: `${counts.completed} of ${counts.total} files indexed${failed}`, busy: false };
}

/** How often the page reads a store's files again while any is in progress. */
export const ingestPollMs = 400;
