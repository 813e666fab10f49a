import { describe, expect, test, vi } from 'vitest';
import { Cancellation, cancellationOf } from './cancellation.js';

function cancelled(reason: unknown): Cancellation {
  const cancellation = new Cancellation();
  cancellation.abort(reason);
  return cancellation;
}

describe('Cancellation', () => {
  test('listeners run once, in order, with the reason; a later abort changes nothing', () => {
    const cancellation = new Cancellation();
    const order: string[] = [];
    cancellation.onAbort((reason) => order.push(`first:${(reason as Error).message}`));
    cancellation.onAbort(() => order.push('second'));
    cancellation.abort(new Error('client left'));
    cancellation.abort(new Error('again'));
    expect(order).toEqual(['first:client left', 'second']);
    expect(cancellation.aborted).toBe(true);
    expect((cancellation.reason as Error).message).toBe('client left');
  });

  test('an unsubscribed listener is not called', () => {
    const cancellation = new Cancellation();
    const listener = vi.fn();
    const stop = cancellation.onAbort(listener);
    stop();
    cancellation.abort();
    expect(listener).not.toHaveBeenCalled();
  });

  test('subscribing after the abort calls the listener at once', () => {
    const listener = vi.fn();
    cancelled('gone').onAbort(listener);
    expect(listener).toHaveBeenCalledWith('gone');
  });

  test('the signal is made on first use: before the abort it follows it, after it is already aborted', () => {
    const early = new Cancellation();
    const signal = early.signal;
    expect(signal.aborted).toBe(false);
    early.abort('stop');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('stop');
    const late = cancelled('late');
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe('late');
  });

  test('follows an AbortSignal, including one already aborted', () => {
    const controller = new AbortController();
    const following = cancellationOf(controller.signal);
    expect(following.aborted).toBe(false);
    controller.abort('from caller');
    expect(following.reason).toBe('from caller');
    expect(cancellationOf(AbortSignal.abort('before')).reason).toBe('before');
  });
});
