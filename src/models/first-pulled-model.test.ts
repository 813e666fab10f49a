import { describe, expect, test } from 'vitest';
import { FirstPulledModel, type PulledModel } from './first-pulled-model.js';
import type { CachedModel } from './model-cache.js';
import type { PullJob } from './model-pulls.js';

const file = (ref: string, modified: number, incomplete = false): CachedModel => ({
  ref,
  path: `/cache/${ref.slice(3)}${incomplete ? '.part' : ''}`,
  size: 1,
  modifiedAt: new Date(modified),
  incomplete,
});

/** A cache the test fills by hand, pulls whose jobs it reports, and what the watch found. */
function setUp(stillWanted: () => boolean = () => true) {
  const files: CachedModel[] = [];
  let watcher: ((job: PullJob) => void) | undefined;
  const found: PulledModel[] = [];
  const watch = new FirstPulledModel({
    cache: { list: async () => [...files], localPath: (ref) => `/cache/${ref.slice(3)}` },
    pulls: {
      watch: (listener) => {
        watcher = listener;
        return () => (watcher = undefined);
      },
    },
    pollMs: 5,
    stillWanted,
    onFound: (model) => void found.push(model),
  });
  return { files, found, watch, report: (job: Partial<PullJob>) => watcher?.(job as PullJob), watching: () => watcher !== undefined };
}

const tick = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the first pulled model', () => {
  test('files cached before it started and partial downloads are not offered; the first new file is, once', async () => {
    const { files, found, watch, watching } = setUp();
    files.push(file('hf:a/b/old.gguf', 1));
    await watch.start();
    files.push(file('hf:a/b/new.gguf', 5, true));
    await tick();
    expect(found).toEqual([]);
    files.push(file('hf:a/b/new.gguf', 6));
    await tick();
    expect(found).toEqual([{ ref: 'hf:a/b/new.gguf', path: '/cache/a/b/new.gguf' }]);
    expect(watching()).toBe(false);
    files.push(file('hf:a/b/later.gguf', 9));
    await tick();
    expect(found).toHaveLength(1);
  });

  test('a pull through the API is offered as soon as it is done', async () => {
    const { found, watch, report } = setUp();
    await watch.start();
    report({ ref: 'hf:a/b/pulled.gguf', state: 'downloading' });
    expect(found).toEqual([]);
    report({ ref: 'hf:a/b/pulled.gguf', state: 'done' });
    await tick(0);
    expect(found).toEqual([{ ref: 'hf:a/b/pulled.gguf', path: '/cache/a/b/pulled.gguf' }]);
  });

  test('a server that got a model another way loads nothing, and the watch ends', async () => {
    const { files, found, watch, watching } = setUp(() => false);
    await watch.start();
    files.push(file('hf:a/b/new.gguf', 6));
    await tick();
    expect(found).toEqual([]);
    expect(watching()).toBe(false);
  });
});
