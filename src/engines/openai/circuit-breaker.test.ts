import { describe, expect, test } from 'vitest';
import type { Clock } from '../../core/clock.js';
import { CircuitBreaker, type BreakerPermit } from './circuit-breaker.js';

/** A clock that moves only when told. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000;
  return { now: () => now, monotonic: () => now, advance: (ms) => (now += ms) };
}

function setup(failureThreshold = 3, openMs = 1_000) {
  const clock = manualClock();
  return { clock, breaker: new CircuitBreaker({ failureThreshold, openMs }, clock) };
}

/** Runs `count` requests that fail, one after another. */
function fail(breaker: CircuitBreaker, count: number): void {
  for (let index = 0; index < count; index += 1) breaker.failure(breaker.acquire()!);
}

describe('CircuitBreaker', () => {
  test('starts closed and lets requests through', () => {
    const { breaker } = setup();
    expect(breaker.state).toBe('closed');
    expect(breaker.canTry()).toBe(true);
    expect(breaker.acquire()).toMatchObject({ probe: false });
    expect(breaker.retryInMs).toBe(0);
  });

  test('stays closed below the threshold', () => {
    const { breaker } = setup(3);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(2);
  });

  test('opens at exactly the threshold of consecutive failures', () => {
    const { breaker } = setup(3);
    fail(breaker, 3);
    expect(breaker.state).toBe('open');
    expect(breaker.canTry()).toBe(false);
    expect(breaker.acquire()).toBeUndefined();
  });

  test('a success resets the count: failures must be consecutive', () => {
    const { breaker } = setup(3);
    fail(breaker, 2);
    breaker.success(breaker.acquire()!);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  test('a threshold of 1 opens on the first failure', () => {
    const { breaker } = setup(1);
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  test('stays open until openMs has passed, then turns half-open', () => {
    const { breaker, clock } = setup(1, 1_000);
    fail(breaker, 1);
    clock.advance(999);
    expect(breaker.state).toBe('open');
    expect(breaker.retryInMs).toBe(1);
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.retryInMs).toBe(0);
    expect(breaker.canTry()).toBe(true);
  });

  test('half-open lets exactly one probe through at a time', () => {
    const { breaker, clock } = setup(1);
    fail(breaker, 1);
    clock.advance(1_000);
    const probe = breaker.acquire();
    expect(probe).toMatchObject({ probe: true });
    expect(breaker.canTry()).toBe(false);
    expect(breaker.acquire()).toBeUndefined();
    expect(breaker.state).toBe('half-open');
  });

  test('a successful probe closes the breaker', () => {
    const { breaker, clock } = setup(2);
    fail(breaker, 2);
    clock.advance(1_000);
    breaker.success(breaker.acquire()!);
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(0);
    expect(breaker.acquire()).toMatchObject({ probe: false });
  });

  test('a failed probe opens it again for another full openMs', () => {
    const { breaker, clock } = setup(2, 1_000);
    fail(breaker, 2);
    clock.advance(5_000);
    breaker.failure(breaker.acquire()!);
    expect(breaker.state).toBe('open');
    clock.advance(999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
  });

  test('after closing again, it takes the full threshold to reopen', () => {
    const { breaker, clock } = setup(3);
    fail(breaker, 3);
    clock.advance(1_000);
    breaker.success(breaker.acquire()!);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  test('a released probe (client left, no verdict) frees the probe slot without changing state', () => {
    const { breaker, clock } = setup(1);
    fail(breaker, 1);
    clock.advance(1_000);
    breaker.release(breaker.acquire()!);
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire()).toMatchObject({ probe: true });
  });

  test('releasing an ordinary permit changes nothing', () => {
    const { breaker } = setup(2);
    fail(breaker, 1);
    breaker.release(breaker.acquire()!);
    expect(breaker.consecutiveFailures).toBe(1);
    expect(breaker.state).toBe('closed');
  });

  test('failures of requests that started before it opened are not counted again', () => {
    const { breaker, clock } = setup(2, 1_000);
    const slow: BreakerPermit[] = [breaker.acquire()!, breaker.acquire()!, breaker.acquire()!, breaker.acquire()!];
    breaker.failure(slow[0]!);
    breaker.failure(slow[1]!);
    expect(breaker.state).toBe('open');
    clock.advance(600);
    breaker.failure(slow[2]!);
    clock.advance(400);
    // Had the late failure re-opened it, it would still be open here.
    expect(breaker.state).toBe('half-open');
  });

  test('a late success from before it opened does not close it', () => {
    const { breaker } = setup(1);
    const slow = breaker.acquire()!;
    fail(breaker, 1);
    breaker.success(slow);
    expect(breaker.state).toBe('open');
  });

  test('a late verdict from before the probe closed it is ignored', () => {
    const { breaker, clock } = setup(1);
    const slow = breaker.acquire()!;
    fail(breaker, 1);
    clock.advance(1_000);
    breaker.success(breaker.acquire()!);
    breaker.failure(slow);
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(0);
  });

  test('a late release of an old probe does not free the current one', () => {
    const { breaker, clock } = setup(1);
    fail(breaker, 1);
    clock.advance(1_000);
    const firstProbe = breaker.acquire()!;
    breaker.failure(firstProbe);
    clock.advance(1_000);
    const secondProbe = breaker.acquire()!;
    expect(secondProbe.probe).toBe(true);
    breaker.release(firstProbe);
    expect(breaker.acquire()).toBeUndefined();
  });

  test('the clock decides, not wall time: no timers, no sleeping', () => {
    const { breaker, clock } = setup(1, 60_000);
    fail(breaker, 1);
    clock.advance(60_000);
    expect(breaker.state).toBe('half-open');
  });
});
