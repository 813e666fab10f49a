import { describe, expect, test } from 'vitest';
import type { EnsureOptions } from './model-cache.js';
import { ModelPulls, PullRefError, type PullJob } from './model-pulls.js';
import { formatModelRef, ModelRefError, type HfModelRef } from './model-ref.js';

/** A cache whose downloads the test drives by hand. */
function fakeCache() {
  const downloads: Array<{ ref: string; options: EnsureOptions; finish: () => void; fail: (error: Error) => void }> = [];
  const cache = {
    ensure: (ref: HfModelRef, options: EnsureOptions) =>
      new Promise<string>((resolve, reject) => {
        options.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        downloads.push({ ref: formatModelRef(ref), options, finish: () => resolve(`/cache/${ref.file}`), fail: reject });
      }),
  };
  return { cache, downloads };
}

function setUp(options: { concurrency?: number } = {}) {
  const { cache, downloads } = fakeCache();
  let now = 1_000;
  const pulls = new ModelPulls({ cache, sizeOf: async () => 3000, now: () => now, concurrency: options.concurrency });
  const reports: PullJob[] = [];
  pulls.watch((job) => reports.push(job));
  return { pulls, downloads, reports, advance: (ms: number) => (now += ms) };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('model pulls', () => {
  test('a pull goes queued, downloading, verifying, done; progress is reported at most every 250 ms, state changes always', async () => {
    const { pulls, downloads, reports, advance } = setUp();
    const { job, joined } = pulls.start('hf:owner/repo/file.gguf');
    expect(joined).toBe(false);
    expect(job).toMatchObject({ id: expect.stringMatching(/^pull_/), ref: 'hf:owner/repo/file.gguf', state: 'queued', bytes: 0, total: null, error: null });
    await settle();
    const download = downloads[0]!;
    for (let received = 0; received < 3000; received += 100) {
      download.options.onProgress?.({ received, total: 3000, resumedFrom: 0 });
      advance(50);
    }
    download.options.onProgress?.({ received: 3000, total: 3000, resumedFrom: 0 });
    download.finish();
    await settle();
    const states = reports.map((report) => report.state);
    expect(states[0]).toBe('queued');
    expect(states.slice(-2)).toEqual(['verifying', 'done']);
    // 30 progress callbacks over 1.5 s: about one report per 250 ms, never more than four a second.
    const progress = reports.filter((report) => report.state === 'downloading');
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress.length).toBeLessThanOrEqual(8);
    for (let index = 1; index < progress.length; index += 1) expect(progress[index]!.updatedAt - progress[index - 1]!.updatedAt).toBeGreaterThanOrEqual(250);
    expect(progress.map((report) => report.bytes)).toEqual([...progress.map((report) => report.bytes)].sort((a, b) => a - b));
    expect(pulls.get(job.id)).toMatchObject({ state: 'done', bytes: 3000, total: 3000, finishedAt: expect.any(Number) });
    expect(pulls.pulling('hf:owner/repo/file.gguf')).toBe(false);
  });

  test('a second pull of the same reference, however written, joins the running job', async () => {
    const { pulls, downloads } = setUp();
    const first = pulls.start('hf:owner/repo/file.gguf');
    const second = pulls.start('hf:owner/repo@main/file.gguf');
    expect(second).toEqual({ job: expect.objectContaining({ id: first.job.id }), joined: true });
    await settle();
    expect(downloads).toHaveLength(1);
    expect(pulls.pulling('hf:owner/repo/file.gguf')).toBe(true);
    downloads[0]!.finish();
    await settle();
    // Once it is done, a new pull is a new job (it finds the file cached and is done at once).
    const third = pulls.start('hf:owner/repo/file.gguf');
    expect(third.joined).toBe(false);
    expect(third.job.id).not.toBe(first.job.id);
    expect(pulls.list().map((job) => job.id)).toEqual([third.job.id, first.job.id]);
  });

  test('a failed download is reported with its reason, in words', async () => {
    const { pulls, downloads, reports } = setUp();
    const { job } = pulls.start('hf:owner/repo/missing.gguf');
    await settle();
    downloads[0]!.fail(new Error('The model hf:owner/repo/missing.gguf could not be downloaded: it was not found (HTTP 404).'));
    await settle();
    expect(pulls.get(job.id)).toMatchObject({ state: 'failed', error: expect.stringContaining('HTTP 404') });
    expect(reports.at(-1)).toMatchObject({ id: job.id, state: 'failed' });
  });

  test('references are checked before anything starts: bad ones and local files are refused', () => {
    const { pulls } = setUp();
    expect(() => pulls.start('hf:owner')).toThrow(ModelRefError);
    expect(() => pulls.start('https://example.com/model.gguf')).toThrow(ModelRefError);
    expect(() => pulls.start('/models/local.gguf')).toThrow(PullRefError);
    expect(pulls.list()).toEqual([]);
  });

  test('past the concurrency, pulls wait queued and start as others finish', async () => {
    const { pulls, downloads } = setUp({ concurrency: 1 });
    const first = pulls.start('hf:owner/repo/a.gguf');
    const second = pulls.start('hf:owner/repo/b.gguf');
    await settle();
    expect(downloads.map((download) => download.ref)).toEqual(['hf:owner/repo/a.gguf']);
    expect(pulls.get(second.job.id)?.state).toBe('queued');
    downloads[0]!.finish();
    await settle();
    await settle();
    expect(pulls.get(first.job.id)?.state).toBe('done');
    expect(downloads.map((download) => download.ref)).toEqual(['hf:owner/repo/a.gguf', 'hf:owner/repo/b.gguf']);
    expect(pulls.get(second.job.id)?.state).toBe('downloading');
  });

  test('closing stops running pulls and says the partial file is kept', async () => {
    const { pulls } = setUp();
    const { job } = pulls.start('hf:owner/repo/file.gguf');
    await settle();
    pulls.close();
    await settle();
    expect(pulls.get(job.id)).toMatchObject({ state: 'failed', error: expect.stringContaining('partial file is kept') });
  });
});
