import { expect, test } from 'vitest';
import { ingestProgress } from './ingest-progress.js';

const counts = (in_progress: number, completed: number, failed = 0) => ({
  in_progress,
  completed,
  failed,
  cancelled: 0,
  total: in_progress + completed + failed,
});

test('a store part way through its files shows the settled share and keeps polling', () => {
  expect(ingestProgress(counts(3, 1))).toEqual({ percent: 25, text: 'indexing · 1 of 4 files done', busy: true });
  expect(ingestProgress(counts(1, 1, 1))).toEqual({ percent: 66, text: 'indexing · 2 of 3 files done · 1 failed', busy: true });
});

test('a settled or empty store is full and stops polling', () => {
  expect(ingestProgress(counts(0, 2, 1))).toEqual({ percent: 100, text: '2 of 3 files indexed · 1 failed', busy: false });
  expect(ingestProgress(counts(0, 0))).toEqual({ percent: 100, text: 'no files yet', busy: false });
});
