import { describe, expect, it } from 'vitest';
import { autoscaleSummary } from './autoscale-summary.js';

const range = { minReplicas: 0, maxReplicas: 4, targetQueuePerReplica: 2, scaleDownDelayMs: 60_000, scaleFromZeroTimeoutMs: 120_000 };

describe('autoscale summary', () => {
  it('says nothing for a fixed count that never changed', () => {
    expect(autoscaleSummary({ autoscale: null })).toBeUndefined();
    expect(autoscaleSummary({})).toBeUndefined();
  });

  it('gives the range, the requests held and the last change with its reason and age', () => {
    expect(autoscaleSummary({ autoscale: range }, 0)).toBe('autoscale 0-4 replicas, target 2 requests per replica, down after 60 s below it');
    expect(autoscaleSummary({ autoscale: range, held: 1, lastScale: { at: 10_000, from: 0, to: 1, reason: '1 request held at zero replicas' } }, 12_500)).toBe(
      'autoscale 0-4 replicas, target 2 requests per replica, down after 60 s below it · 1 request waits for a replica · last change 0 → 1, 2.5 s ago: 1 request held at zero replicas',
    );
    expect(autoscaleSummary({ held: 3 })).toBe('3 requests wait for a replica');
  });

  it('tells an operator change on a fixed count too, and never a negative age', () => {
    expect(autoscaleSummary({ autoscale: null, lastScale: { at: 5_000, from: 2, to: 3, reason: 'set by an operator' } }, 4_000)).toBe(
      'last change 2 → 3, 0 s ago: set by an operator',
    );
  });
});
