import { describe, expect, test } from 'vitest';
import { ProgressBar, type ProgressStream } from './progress-bar.js';

function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
  return {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string) {
      this.text += chunk;
    },
  };
}

describe('ProgressBar', () => {
  test('on a terminal it redraws one line at most every 100 ms, with percent, bytes, speed and ETA', () => {
    const stream = fakeStream(true);
    let now = 0;
    const bar = new ProgressBar({ stream, now: () => now });
    bar.update({ received: 0, total: 100_000_000 });
    now = 50;
    bar.update({ received: 1_000_000, total: 100_000_000 }); // too soon: skipped
    now = 1000;
    bar.update({ received: 10_000_000, total: 100_000_000 });
    bar.finish();
    const draws = stream.text.split('\r').filter(Boolean);
    expect(draws).toHaveLength(3);
    expect(draws[1]).toBe('[###...........................]  10%  10.0 MB / 100.0 MB  10.0 MB/s  ETA 0:09\x1b[K');
    expect(stream.text.endsWith('\n')).toBe(true);
  });

  test('elsewhere it prints a line per 10%, and leaves resumed bytes out of the speed', () => {
    const stream = fakeStream(false);
    let now = 0;
    const bar = new ProgressBar({ stream, now: () => now });
    for (let received = 50; received <= 100; received += 1) {
      now += 20;
      bar.update({ received: received * 1000, total: 100_000 });
    }
    bar.finish();
    const lines = stream.text.trimEnd().split('\n');
    expect(lines.map((line) => line.trim().split(' ')[0])).toEqual(['50%', '60%', '70%', '80%', '90%', '100%']);
    expect(lines.at(-1)).toBe('100%  100.0 kB / 100.0 kB  49.0 kB/s  ETA 0:00');
  });

  test('without a total it shows bytes and speed', () => {
    const stream = fakeStream(true);
    let now = 0;
    const bar = new ProgressBar({ stream, now: () => now });
    bar.update({ received: 0 });
    now = 2000;
    bar.update({ received: 4_000_000 });
    expect(stream.text).toContain('4.0 MB  2.0 MB/s');
    bar.stop();
    expect(stream.text.endsWith('\n')).toBe(true);
  });
});
