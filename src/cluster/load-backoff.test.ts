import { describe, expect, test } from 'vitest';
import { afterLoadFailure, loadBackoffDelay, mayPlaceAgain, type LoadBackoff } from './load-backoff.js';

describe('load backoff', () => {
  test('1 s after the first failure, doubling, capped at 5 min', () => {
    expect([0, 1, 2, 3, 4, 9, 10].map((failures) => loadBackoffDelay(failures))).toEqual([0, 1000, 2000, 4000, 8000, 256_000, 300_000]);
    expect(loadBackoffDelay(1000)).toBe(300_000);
  });

  test('a policy of its own is merged in by the caller', () => {
    expect(loadBackoffDelay(3, { initialMs: 100, maxMs: 250 })).toBe(250);
    expect(loadBackoffDelay(2, { initialMs: 100, maxMs: 250 })).toBe(200);
  });

  test('each failure in a row pushes the retry further, and keeps the last error', () => {
    let backoff: LoadBackoff | undefined;
    const times: number[] = [];
    let now = 10_000;
    for (let failure = 0; failure < 4; failure += 1) {
      backoff = afterLoadFailure(backoff, now, `out of memory ${failure}`);
      times.push(backoff.retryAt - now);
      now = backoff.retryAt;
    }
    expect(times).toEqual([1000, 2000, 4000, 8000]);
    expect(backoff).toMatchObject({ failures: 4, lastError: 'out of memory 3' });
  });

  test('placement may try again only once the backoff has passed; no backoff, always', () => {
    const backoff = afterLoadFailure(undefined, 5000, 'bad file');
    expect(mayPlaceAgain(backoff, 5999)).toBe(false);
    expect(mayPlaceAgain(backoff, 6000)).toBe(true);
    expect(mayPlaceAgain(undefined, 0)).toBe(true);
  });
});
