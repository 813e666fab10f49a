/**
 * Ledger ids of a batch's lines. A line's first try is `batch_req_<batch>_<index>`; a resumed batch
 * runs a line again under the same id where that try was billed in full (the ledger keeps one row
 * per id, so the line is billed once), and under `..._<index>.<n>` where it was cut or refused.
 */

/** The id of a line's first try. */
export function lineRequestId(batchId: string, index: number): string {
  return `batch_req_${batchId.replace(/^batch_/, '')}_${index}`;
}

/** The id of a line's try number `attempt` (1 is the first). */
export function attemptRequestId(batchId: string, index: number, attempt: number): string {
  const first = lineRequestId(batchId, index);
  return attempt <= 1 ? first : `${first}.${attempt}`;
}

/**
 * The try to run a line as, given its earlier tries in the ledger (id -> status): the first try
 * that has no row or an `ok` one (billed in full: run again under its id, the ledger keeps one row).
 */
export function resumeAttempt(batchId: string, index: number, tries: ReadonlyMap<string, string>): number {
  for (let attempt = 1; ; attempt += 1) {
    const earlier = tries.get(attemptRequestId(batchId, index, attempt));
    if (earlier === undefined || earlier === 'ok') return attempt;
  }
}
