import { describe, expect, test } from 'vitest';
import type { Clock } from '../core/clock.js';
import { WorkerHealth, type WorkerLoad } from './worker-health.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return { now: () => now, monotonic: () => now, advance: (ms) => void (now += ms) };
}
const idle: WorkerLoad = { activeSequences: 0, queueDepth: 0, tokensPerSecond: 0, memoryInUseBytes: 0 };

describe('WorkerHealth', () => {
  test('a beating worker is ready; one silent past missedBeats x interval is unreachable', () => {
    const clock = manualClock();
    const health = new WorkerHealth(clock, { intervalMs: 1000, missedBeats: 3 });
    health.beat('w1', idle);
    clock.advance(3000);
    expect(health.state('w1')).toBe('ready');
    clock.advance(1);
    expect(health.state('w1')).toBe('unreachable');
  });

  test('a beat brings an unreachable worker back', () => {
    const clock = manualClock();
    const health = new WorkerHealth(clock);
    health.beat('w1', idle);
    clock.advance(60_000);
    expect(health.state('w1')).toBe('unreachable');
    health.beat('w1', idle);
    expect(health.state('w1')).toBe('ready');
  });

  test('drain keeps the worker alive but not ready, across heartbeats, until undrained', () => {
    const health = new WorkerHealth(manualClock());
    health.beat('w1', idle);
    expect(health.drain('w1')).toBe(true);
    health.beat('w1', idle);
    expect(health.state('w1')).toBe('draining');
    health.drain('w1', false);
    expect(health.state('w1')).toBe('ready');
    expect(health.drain('unknown')).toBe(false);
  });

  test('an unreachable worker reads unreachable even while draining', () => {
    const clock = manualClock();
    const health = new WorkerHealth(clock);
    health.beat('w1', idle);
    health.drain('w1');
    clock.advance(16_000);
    expect(health.state('w1')).toBe('unreachable');
  });

  test('report lists every worker with its last load and silence; remove forgets one', () => {
    const clock = manualClock();
    const health = new WorkerHealth(clock);
    health.beat('b', { ...idle, activeSequences: 3 });
    clock.advance(2000);
    health.beat('a', idle);
    expect(health.report()).toEqual([
      { name: 'a', state: 'ready', silentMs: 0, load: idle },
      { name: 'b', state: 'ready', silentMs: 2000, load: { ...idle, activeSequences: 3 } },
    ]);
    health.remove('a');
    expect(health.state('a')).toBeUndefined();
  });
});
