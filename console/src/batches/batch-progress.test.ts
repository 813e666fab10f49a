import { describe, expect, it } from 'vitest';
import { batchProgress, type BatchView } from './batch-progress.js';

const batch = (status: BatchView['status'], total: number, completed: number, failed: number, errors: BatchView['errors'] = null): BatchView => ({
  id: 'batch_1',
  endpoint: '/v1/chat/completions',
  status,
  input_file_id: 'file-1',
  output_file_id: null,
  error_file_id: null,
  errors,
  created_at: 1,
  completed_at: null,
  request_counts: { total, completed, failed },
});

describe('batchProgress', () => {
  it.each([
    ['validating', 0, 0, 0, 0, 'checking the input file', true, true],
    ['in_progress', 10, 0, 0, 0, '0 of 10 lines done', true, true],
    ['in_progress', 10, 3, 1, 40, '4 of 10 lines done, 1 failed', true, true],
    ['finalizing', 10, 10, 0, 100, '10 of 10 lines done', true, false],
    ['completed', 3, 3, 0, 100, '3 of 3 lines done', false, false],
    ['cancelling', 10, 2, 0, 20, '2 of 10 lines done', true, false],
    ['cancelled', 10, 2, 0, 20, '2 of 10 lines done', false, false],
    ['expired', 4, 1, 3, 100, '4 of 4 lines done, 3 failed', false, false],
    ['completed', 0, 0, 0, 100, 'no lines yet', false, false],
    ['in_progress', 3, 1, 0, 33, '1 of 3 lines done', true, true],
  ] as const)('%s %i/%i/%i: %i%% "%s"', (status, total, completed, failed, percent, text, moving, cancellable) => {
    expect(batchProgress(batch(status, total, completed, failed))).toEqual({ percent, text, moving, cancellable });
  });

  it('a refused input file says why, from its first error', () => {
    const refused = batchProgress(batch('failed', 0, 0, 0, { data: [{ code: 'invalid_json_line', message: 'Line 2 is not JSON.', line: 2 }] }));
    expect(refused).toEqual({ percent: 100, text: 'input refused: Line 2 is not JSON.', moving: false, cancellable: false });
  });
});
