import { describe, expect, it } from 'vitest';
import { CoalescedRun } from './coalesced-run.js';

describe('CoalescedRun', () => {
  it('runs one at a time; calls during a run cost one more run, and all wait for it', async () => {
    let runs = 0;
    let active = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    const runner = new CoalescedRun(async () => {
      runs += 1;
      active += 1;
      most = Math.max(most, active);
      await new Promise<void>((resolve) => gates.push(resolve));
      active -= 1;
    });
    const first = runner.run();
    const second = runner.run();
    const third = runner.run();
    expect(runs).toBe(1);
    expect(runner.current).toBeDefined();
    gates.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(2);
    gates.shift()!();
    await Promise.all([first, second, third]);
    expect(runs).toBe(2);
    expect(most).toBe(1);
    expect(runner.current).toBeUndefined();
  });

  it('a failed run rejects its callers and the next call runs afresh', async () => {
    let fail = true;
    const runner = new CoalescedRun(async () => {
      if (fail) throw new Error('boom');
    });
    await expect(runner.run()).rejects.toThrow('boom');
    fail = false;
    await expect(runner.run()).resolves.toBeUndefined();
  });
});
