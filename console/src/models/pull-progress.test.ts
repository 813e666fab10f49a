import { describe, expect, it } from 'vitest';
import type { ModelPull } from '../api/types.js';
import { formatBytes, laterPull, mergePulls, pullProgress } from './pull-progress.js';

const pull = (change: Partial<ModelPull> = {}): ModelPull => ({
  id: 'pull_a',
  ref: 'hf:owner/repo/file.gguf',
  state: 'downloading',
  bytes: 0,
  total: null,
  error: null,
  created_at: 100,
  finished_at: null,
  ...change,
});

describe('pull progress', () => {
  it('formats bytes in decimal units, as the hub does', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_185_504)).toBe('1.2 MB');
    expect(formatBytes(4_920_000_000)).toBe('4.9 GB');
  });

  it('gives each state a bar and words; the percentage is whole and never past 100', () => {
    expect(pullProgress(pull({ state: 'queued' }))).toEqual({ percent: 0, text: 'queued: waits for a free download slot' });
    expect(pullProgress(pull({ bytes: 450_000, total: 1_000_000 }))).toEqual({ percent: 45, text: 'downloading · 45% · 450.0 kB of 1.0 MB' });
    expect(pullProgress(pull({ bytes: 999_999, total: 1_000_000 })).percent).toBe(99);
    expect(pullProgress(pull({ bytes: 2_000, total: 1_000 })).percent).toBe(100);
    expect(pullProgress(pull({ bytes: 1_500 }))).toEqual({ percent: null, text: 'downloading · 1.5 kB' });
    expect(pullProgress(pull({ state: 'verifying', bytes: 1_000, total: 1_000 })).text).toBe('checking size and sha256 · 1.0 kB of 1.0 kB');
    expect(pullProgress(pull({ state: 'done', bytes: 1_185_504, total: 1_185_504 }))).toEqual({ percent: 100, text: 'done · 1.2 MB' });
    expect(pullProgress(pull({ state: 'failed', bytes: 10, total: 100, error: 'the file does not exist' }))).toEqual({
      percent: 10,
      text: 'failed: the file does not exist',
    });
  });

  it('keeps the later of two reports, whichever arrives last', () => {
    const early = pull({ bytes: 100, total: 1000 });
    const later = pull({ bytes: 600, total: 1000 });
    const done = pull({ state: 'done', bytes: 1000, total: 1000 });
    expect(laterPull(undefined, early)).toBe(early);
    expect(laterPull(early, later)).toBe(later);
    expect(laterPull(later, early)).toBe(later);
    expect(laterPull(done, later)).toBe(done);
    expect(laterPull(pull({ state: 'queued' }), early)).toBe(early);
  });

  it('merges the listed pulls with the live ones, newest first', () => {
    const listed = [pull({ id: 'pull_old', created_at: 50, state: 'done', bytes: 5, total: 5 }), pull({ bytes: 10, total: 100 })];
    const live = new Map([
      ['pull_a', pull({ bytes: 70, total: 100 })],
      ['pull_new', pull({ id: 'pull_new', created_at: 200, state: 'queued' })],
    ]);
    expect(mergePulls(listed, live).map((entry) => [entry.id, entry.state, entry.bytes])).toEqual([
      ['pull_new', 'queued', 0],
      ['pull_a', 'downloading', 70],
      ['pull_old', 'done', 5],
    ]);
  });
});
